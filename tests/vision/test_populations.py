"""The population protocols: identity splits are fixed and disjoint, pairs follow the rules (NUAA genuine
pairs cross sessions), and the threshold rule keeps every population at or under the target FMR."""

from __future__ import annotations

import numpy as np
import pytest

from whosthat.vision import populations as pops


def test_threshold_at_fmr_allows_at_most_the_target_share_of_impostors():
    rng = np.random.default_rng(0)
    impostors = rng.uniform(0.5, 1.5, 10_000)
    for target in (1e-3, 1e-2, 0.1):
        t = pops.threshold_at_fmr(impostors, target)
        assert (impostors <= t).mean() <= target
        # and it is the largest such threshold: the next impostor distance would break it
        assert (impostors <= np.sort(impostors)[int(target * len(impostors))]).mean() > target
    assert pops.threshold_at_fmr(impostors, 1e-6) < impostors.min()


def test_the_strictest_population_decides():
    a = np.linspace(0.8, 1.6, 2000)
    b = np.linspace(0.4, 1.2, 2000)  # impostors of b come closer: b decides
    t, each = pops.threshold_for_all({"a": a, "b": b}, 1e-3)
    assert t == each["b"] < each["a"]
    assert (a <= t).mean() <= 1e-3 and (b <= t).mean() <= 1e-3


def test_error_rates_use_the_inclusive_match_rule_and_skip_missing_faces():
    r = pops.error_rates(np.array([0.3, 0.5, 0.7, np.nan]), np.array([0.5, 0.9, 1.0, np.nan]), 0.5)
    assert (r["false_matches"], r["impostor_pairs"]) == (1, 3)  # 0.5 <= 0.5 is a match
    assert (r["false_non_matches"], r["genuine_pairs"]) == (1, 3)
    assert r["fmr_upper_95"] > r["fmr"]
    assert pops.fmr_upper_bound(0, 3000) == pytest.approx(3 / 3000, rel=0.01)


def test_nuaa_split_is_fixed_disjoint_and_gives_both_parts_genuine_pairs():
    sessions = {f"{k:04d}": ({"01", "02"} if k % 3 else {"01"}) for k in range(1, 10)}
    split = pops.split_nuaa(sessions)
    assert split == pops.split_nuaa(sessions)  # the seed fixes it
    assert not set(split["tune"]) & set(split["report"])
    assert set(split["tune"]) | set(split["report"]) == set(sessions)
    for part in split.values():
        assert any(len(sessions[s]) > 1 for s in part)
    assert pops.split_nuaa(sessions, seed=1) != split or pops.split_nuaa(sessions, seed=2) != split


def test_nuaa_pairs_on_the_real_frames(nuaa):
    tune, report = pops.pair_set("nuaa", "tune", nuaa), pops.pair_set("nuaa", "report", nuaa)
    assert not set(tune.identities) & set(report.identities)
    for ps in (tune, report):
        ids = np.array(ps.identities)
        sessions = np.array([f.stem.split("_")[3] for f in ps.files])
        g, i = ps.genuine, ps.impostor
        assert len(g) and len(i)
        assert (ids[g[:, 0]] == ids[g[:, 1]]).all() and (sessions[g[:, 0]] != sessions[g[:, 1]]).all()
        assert (ids[i[:, 0]] != ids[i[:, 1]]).all()


def test_celeba_split_is_by_identity(data_root):
    if not (data_root / "celeba" / "identity_CelebA.txt").exists():
        pytest.skip("CelebA not under WHOSTHAT_DATA")
    tune, report = pops.pair_set("celeba", "tune", data_root), pops.pair_set("celeba", "report", data_root)
    assert not set(tune.identities) & set(report.identities)
    assert len(set(tune.identities)) + len(set(report.identities)) == 138


def test_identification_margins_count_correct_and_wrong_matches():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(5, 8))
    templates = np.concatenate([centres + rng.normal(scale=0.05, size=(5, 8)) for _ in range(3)])
    ids = [f"p{k}" for k in range(5)] * 3
    m = pops.identification_margins(templates, ids, threshold=1.0)
    assert m["gallery"] == 5 and m["probes"] == 10
    assert m["correct_under_threshold"] == 10 and m["wrong_under_threshold"] == 0
    assert m["margin_p01_correct"] > 0
