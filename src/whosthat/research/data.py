"""LightningDataModules over prepared arrays: LFW (View 1 / View 2 pairs, identity classification), CelebA, CEW, NUAA.

Images are prepared once (detect, align with the serving `FaceAlignTransform`, or embed with the frozen
dlib ResNet) into an `ArraySource`: an .npz under $WHOSTHAT_HOME/cache/research holding `paths`
(relative to the dataset root), `data` (uint8 crops [N, S, S, 3] or float32 features [N, 128]) and
`found` (bool [N], False where no face was found). Training then never touches JPEGs.

LFW protocol (`protocol="view2"`, the default): test fold k (0-based) of `people.txt`/`pairs.txt`;
train on the images of the people of the other folds that have at least `min_images` images; the
validation pairs are those of `val_fold` (tuning) or, when it is None, those of all training folds
(monitoring only: those people were trained on). `protocol="view1"`: train on `peopleDevTrain.txt`,
validate on `pairsDevTest.txt`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from whosthat.datasets import cew, lfw, nuaa
from whosthat.errors import BadInputError


@dataclass
class ArraySource:
    """Prepared inputs: `data[i]` belongs to `paths[i]`; `found[i]` is False when preparation found no face."""

    paths: list[str]
    data: np.ndarray
    found: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "images" if self.data.dtype == np.uint8 and self.data.ndim == 4 else "features"

    def index(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.paths)}

    @classmethod
    def load(cls, path: str | Path) -> ArraySource:
        path = Path(path)
        if not path.is_file():
            raise BadInputError(f"prepared data not found: {path} (run `whosthat train prepare` first)")
        z = np.load(path, allow_pickle=False)
        if "jpeg" in z.files:  # compact form: JPEG bytes concatenated, with offsets
            data = decode_jpeg_blob(z["jpeg"], z["offsets"])
        else:
            data = z["data"]
        meta = {k: str(z[k]) for k in z.files if k.startswith("meta_")}
        return cls([str(p) for p in z["paths"]], data, z["found"].astype(bool), meta)

    def save(self, path: str | Path, jpeg_quality: int | None = None) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"paths": np.array(self.paths), "found": self.found}
        arrays.update({k: np.array(v) for k, v in self.meta.items()})
        if jpeg_quality and self.kind == "images":
            arrays["jpeg"], arrays["offsets"] = encode_jpeg_blob(self.data, jpeg_quality)
        else:
            arrays["data"] = self.data
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)
        return path


def encode_jpeg_blob(images: np.ndarray, quality: int) -> tuple[np.ndarray, np.ndarray]:
    import io

    from PIL import Image

    chunks, offsets = [], [0]
    for im in images:
        buf = io.BytesIO()
        Image.fromarray(im).save(buf, format="JPEG", quality=quality)
        chunks.append(buf.getvalue())
        offsets.append(offsets[-1] + len(chunks[-1]))
    return np.frombuffer(b"".join(chunks), dtype=np.uint8), np.array(offsets, dtype=np.int64)


def decode_jpeg_blob(blob: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    import io
    from concurrent.futures import ThreadPoolExecutor

    from PIL import Image

    raw = blob.tobytes()

    def decode(i: int) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(raw[offsets[i] : offsets[i + 1]])).convert("RGB"))

    with ThreadPoolExecutor(max_workers=8) as pool:  # PIL releases the GIL while decoding
        out = list(pool.map(decode, range(len(offsets) - 1)))
    return np.stack(out)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 [N, S, S, 3] RGB -> float32 [N, 3, S, S] in (x/255 - 0.5)/0.5, the ONNX `image:` contract."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return (x / 255.0 - 0.5) / 0.5


class ArrayDataset(Dataset):
    """Rows `indices` of a source with integer `labels`; images get a random flip and a small shift when `augment`."""

    def __init__(
        self,
        data: np.ndarray,
        indices: np.ndarray,
        labels: np.ndarray,
        augment: bool = False,
        seed: int = 0,
        views: list[np.ndarray] | None = None,
    ):
        self.data, self.indices, self.labels = data, np.asarray(indices), np.asarray(labels)
        # feature inputs: `views` are alternative versions of `data` (e.g. the plain and the mirrored
        # chip's descriptor); training picks one of data/views at random per sample
        self.views = [data] + list(views or []) if augment else [data]
        self.images = data.dtype == np.uint8 and data.ndim == 4
        self.augment = augment and self.images
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitems__(self, items: list[int]):
        """A whole batch at once for feature inputs (no per-sample Python work); images go sample by sample."""
        if self.images:
            return [self.__getitem__(i) for i in items]
        rows = self.indices[np.asarray(items)]
        if len(self.views) > 1:
            pick = self.rng.integers(len(self.views), size=len(rows))
            x = np.stack([self.views[v][r] for v, r in zip(pick, rows, strict=True)])
        else:
            x = self.data[rows]
        return [
            (
                torch.from_numpy(np.asarray(x, dtype=np.float32)),
                torch.as_tensor(self.labels[np.asarray(items)]),
            )
        ]

    def __getitem__(self, i: int):
        view = self.views[self.rng.integers(len(self.views))] if len(self.views) > 1 else self.data
        row = view[self.indices[i]]
        if not self.images:
            return torch.from_numpy(np.asarray(row, dtype=np.float32)), int(self.labels[i])
        if self.augment:
            if self.rng.random() < 0.5:
                row = row[:, ::-1]
            pad = max(row.shape[0] // 16, 1)
            padded = np.pad(row, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
            dy, dx = self.rng.integers(0, 2 * pad + 1, size=2)
            row = padded[dy : dy + row.shape[0], dx : dx + row.shape[1]]
        return to_tensor(row[None])[0], int(self.labels[i])


def _batch_collate(batch):
    """`ArrayDataset.__getitems__` already built the batch for feature inputs."""
    return batch[0]


def _person(relpath: str) -> str:
    return relpath.split("/")[0]


class LFWDataModule(L.LightningDataModule):
    """LFW identities for training (n x m batches) and pairs for validation; see the module docstring."""

    def __init__(
        self,
        source: ArraySource,
        root: str | Path,
        test_fold: int = 9,
        val_fold: int | None = None,
        protocol: str = "view2",
        min_images: int = 2,
        n_classes: int = 24,
        m_per_class: int = 2,
        eval_batch_size: int = 256,
        augment: bool = True,
        num_workers: int = 0,
        seed: int = 0,
        feature_views: list[np.ndarray] | None = None,
    ):
        super().__init__()
        self.feature_views = feature_views
        if protocol not in ("view1", "view2"):
            raise BadInputError("protocol must be view1 or view2")
        if protocol == "view2" and not 0 <= test_fold <= 9:
            raise BadInputError(f"test fold must be 0..9, got {test_fold}")
        if val_fold is not None and val_fold == test_fold:
            raise BadInputError("the validation fold must differ from the test fold")
        self.source, self.root = source, Path(root)
        self.test_fold, self.val_fold, self.protocol = test_fold, val_fold, protocol
        self.min_images, self.n_classes, self.m_per_class = (
            max(min_images, m_per_class),
            n_classes,
            m_per_class,
        )
        self.eval_batch_size, self.augment, self.num_workers, self.seed = (
            eval_batch_size,
            augment,
            num_workers,
            seed,
        )
        self._ready = False

    # -- splits ---------------------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        if self._ready:
            return
        src, index = self.source, self.source.index()
        persons = np.array([_person(p) for p in src.paths])
        if self.protocol == "view2":
            fold_of = lfw.fold_of_person(lfw.read_people_folds(self.root, "people.txt"))
            excluded = {self.test_fold} | ({self.val_fold} if self.val_fold is not None else set())
            train_people = {p for p, k in fold_of.items() if k not in excluded}
            all_pairs = lfw.read_pairs(self.root, "pairs.txt")
            val_pairs = [
                p
                for p in all_pairs
                if (p.fold == self.val_fold if self.val_fold is not None else p.fold != self.test_fold)
            ]
            self.test_people = {p for p, k in fold_of.items() if k == self.test_fold}
        else:
            train_people = set(lfw.read_people_folds(self.root, "peopleDevTrain.txt")[0])
            all_pairs = lfw.read_pairs(self.root, "pairsDevTest.txt")
            val_pairs = all_pairs
            self.test_people = set(lfw.read_people_folds(self.root, "peopleDevTest.txt")[0])
        self.all_pairs = all_pairs
        usable = src.found & np.isin(persons, list(train_people))
        names, counts = np.unique(persons[usable], return_counts=True)
        keep = set(names[counts >= self.min_images].tolist())
        self.train_indices = np.flatnonzero(usable & np.isin(persons, list(keep)))
        self.class_names = sorted(keep)
        class_of = {n: i for i, n in enumerate(self.class_names)}
        self.train_labels = np.array([class_of[persons[i]] for i in self.train_indices], dtype=np.int64)
        if len(self.class_names) < self.n_classes:
            raise BadInputError(
                f"only {len(self.class_names)} training identities with >= {self.min_images} images"
            )
        # validation: the images of the validation pairs, pairs as positions in that list
        val_rows = sorted(
            {index[q] for p in val_pairs for q in (p.path_a, p.path_b) if q in index and src.found[index[q]]}
        )
        pos = {r: k for k, r in enumerate(val_rows)}
        a = np.array([pos.get(index.get(p.path_a, -1), -1) for p in val_pairs])
        b = np.array([pos.get(index.get(p.path_b, -1), -1) for p in val_pairs])
        self.val_indices = np.array(val_rows, dtype=np.int64)
        self.val_labels = (
            np.unique(persons[self.val_indices], return_inverse=True)[1] if val_rows else np.array([])
        )
        self.val_pairs = (a, b, np.array([p.same for p in val_pairs]))
        self._ready = True

    @property
    def num_train_classes(self) -> int:
        self.setup()
        return len(self.class_names)

    # -- loaders --------------------------------------------------------------------------------------
    def train_dataloader(self) -> DataLoader:
        from whosthat.research.sampler import ClassBalancedBatchSampler

        rank, world = 0, 1
        if self.trainer is not None:
            rank, world = self.trainer.global_rank, self.trainer.world_size
        sampler = ClassBalancedBatchSampler(
            self.train_labels, self.n_classes, self.m_per_class, self.seed, rank, world
        )
        ds = ArrayDataset(
            self.source.data,
            self.train_indices,
            self.train_labels,
            self.augment,
            self.seed + rank,
            views=self.feature_views,
        )
        return DataLoader(
            ds,
            batch_sampler=sampler,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            collate_fn=None if self.source.kind == "images" else _batch_collate,
        )

    def val_dataloader(self) -> DataLoader:
        ds = ArrayDataset(self.source.data, self.val_indices, self.val_labels)
        return DataLoader(
            ds,
            batch_size=self.eval_batch_size,
            shuffle=False,
            num_workers=0,
            collate_fn=None if self.source.kind == "images" else _batch_collate,
        )

    # -- evaluation helpers ---------------------------------------------------------------------------
    def pair_indices(self, pairs: list[lfw.Pair]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(rows a, rows b, same, fold) into the source for `pairs`; -1 where the image has no face."""
        index = self.source.index()

        def row(p: str) -> int:
            r = index.get(p, -1)
            return r if r >= 0 and self.source.found[r] else -1

        return (
            np.array([row(p.path_a) for p in pairs]),
            np.array([row(p.path_b) for p in pairs]),
            np.array([p.same for p in pairs]),
            np.array([p.fold for p in pairs]),
        )


class FolderIdentityDataModule(L.LightningDataModule):
    """Generic identity classification over an `ArraySource` with a {relpath: identity} map and a
    {relpath: split} map (train/val/test): CelebA (`datasets.celeba.read_celeba`), CEW and NUAA
    (`cew_layout`, `nuaa_layout` below)."""

    def __init__(
        self,
        source: ArraySource,
        identity: dict[str, str],
        split: dict[str, str],
        n_classes: int = 24,
        m_per_class: int = 2,
        batch_size: int = 64,
        augment: bool = True,
        balanced: bool = True,
        seed: int = 0,
    ):
        super().__init__()
        self.source, self.identity, self.split = source, identity, split
        self.n_classes, self.m_per_class, self.batch_size = n_classes, m_per_class, batch_size
        self.augment, self.balanced, self.seed = augment, balanced, seed
        self.setup()

    def setup(self, stage: str | None = None) -> None:
        names = sorted({self.identity[p] for p in self.source.paths if p in self.identity})
        self.class_names = names
        class_of = {n: i for i, n in enumerate(names)}
        self.rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for part in ("train", "val", "test"):
            rows = [
                i
                for i, p in enumerate(self.source.paths)
                if self.source.found[i] and self.split.get(p) == part and p in self.identity
            ]
            self.rows[part] = (
                np.array(rows, dtype=np.int64),
                np.array([class_of[self.identity[self.source.paths[i]]] for i in rows], dtype=np.int64),
            )

    def _loader(self, part: str, train: bool) -> DataLoader:
        from whosthat.research.sampler import ClassBalancedBatchSampler

        rows, labels = self.rows[part]
        if len(rows) == 0:
            raise BadInputError(f"no {part} images")
        ds = ArrayDataset(self.source.data, rows, labels, augment=train and self.augment, seed=self.seed)
        if train and self.balanced:
            return DataLoader(
                ds,
                batch_sampler=ClassBalancedBatchSampler(labels, self.n_classes, self.m_per_class, self.seed),
            )
        return DataLoader(ds, batch_size=self.batch_size, shuffle=train)

    def train_dataloader(self):
        return self._loader("train", True)

    def val_dataloader(self):
        return self._loader("val", False)

    def test_dataloader(self):
        return self._loader("test", False)


def cew_layout(root: str | Path, seed: int = 0) -> tuple[dict[str, str], dict[str, str]]:
    """CEW eye patches -> ({relpath: "open" | "closed"}, {relpath: "train" | "val" | "test"}), relpath =
    `<folder>/<file>`. Split by face group with `seed` (`datasets.cew.split_groups`: the split of
    `whosthat train eyes`, so both eyes of a face and every photo of a person share a split)."""
    root = Path(root)
    items = cew.read_cew(root)
    where = cew.split_groups([cew.group_of(item.face) for item in items], seed)
    label, split = {}, {}
    for item, k in zip(items, where, strict=True):
        rel = item.path.relative_to(root).as_posix()
        label[rel] = "closed" if item.closed else "open"
        split[rel] = ("train", "val", "test")[k]
    return label, split


def nuaa_layout(
    root: str | Path,
    test_subjects: tuple[str, ...] | None = None,
    val_subjects: tuple[str, ...] | None = None,
    seed: int = 0,
) -> tuple[dict[str, str], dict[str, str]]:
    """NUAA frames -> ({relpath: "live" | "attack"}, {relpath: "train" | "val" | "test"}), relpath =
    `<ClientRaw|ImposterRaw>/<subject>/<file>`, with whole subjects held out for validation and test (never
    adjacent frames of one subject). By default the subjects of `datasets.nuaa.split_subjects(seed)`,
    the split of `whosthat train pad`."""
    root = Path(root)
    frames = nuaa.read_nuaa(root)
    drawn = nuaa.split_subjects([f.subject for f in frames], seed)
    test = set(drawn["test"] if test_subjects is None else test_subjects)
    val = set(drawn["validation"] if val_subjects is None else val_subjects)
    label, split = {}, {}
    for frame in frames:
        rel = frame.path.relative_to(root).as_posix()
        label[rel] = "attack" if frame.attack else "live"
        split[rel] = "test" if frame.subject in test else "val" if frame.subject in val else "train"
    return label, split
