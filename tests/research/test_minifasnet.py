"""The MiniFASNet port: built from the released state dicts, and the shipped ONNX file computes what the
PyTorch networks compute on the served crops of real NUAA frames."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def pair(minifasnet_dir):
    from whosthat.research.minifasnet import load_pair

    return load_pair(minifasnet_dir)


@pytest.fixture(scope="module")
def frames(nuaa):
    """Live and print frames of the held-out subjects 0007 and 0009, every 25th listed frame."""
    from whosthat.datasets import nuaa as reader

    return reader.read_nuaa(nuaa, {"0007", "0009"})[::25]


def test_every_released_tensor_has_its_place_in_the_port(minifasnet_dir):
    from whosthat.research.minifasnet import WEIGHTS, load_minifasnet, strip_prefix, widths_from_state_dict

    for name, _scale, _sha in WEIGHTS.values():
        state = strip_prefix(torch.load(str(minifasnet_dir / name), map_location="cpu", weights_only=True))
        net = load_minifasnet(minifasnet_dir / name)  # strict: no tensor missing, none left over
        assert set(net.state_dict()) == set(state)
        widths = widths_from_state_dict(state)
        assert widths.classes == 3 and widths.head_kernel == 5 and len(widths.stages) == 3
        assert (sum(len(s) for s in widths.se_hidden) > 0) == ("SE" in name)


def test_the_shipped_onnx_matches_pytorch_on_real_nuaa_frames(pair, frames):
    from whosthat.liveness.mesh import FaceMeshTracker
    from whosthat.liveness.pad import MINIFASNET_MODEL, MiniFASNetDetector, box_from_mesh
    from whosthat.vision.image import decode_image

    detector = MiniFASNetDetector(MINIFASNET_MODEL)
    crops, attack = [], []
    with FaceMeshTracker(static_image_mode=True) as tracker:
        for f in frames:
            rgb = decode_image(f.path)
            face = tracker.analyse(rgb)
            crops.append(detector.crops(rgb, box_from_mesh(face.box, detector.box_convention)))
            attack.append(f.attack)
    batch, attack = np.stack(crops), np.array(attack)
    assert 0 < attack.sum() < len(attack)
    with torch.no_grad():
        expected = pair(torch.from_numpy(batch)).numpy()
    got = detector.attack_probs(batch)
    assert np.abs(got - expected).max() < 1e-4
    # and the port is the released networks, not merely self-consistent: prints score high, live faces low
    fused = got[:, 0]
    assert fused[attack == 1].min() > detector.threshold > fused[attack == 0].max()
