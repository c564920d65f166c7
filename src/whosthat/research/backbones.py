"""Backbones: images (or precomputed features) in, an embedding out (not normalised; the method normalises).

- `small_cnn`: the seed's small custom CNN (four conv blocks), trains from scratch on a CPU.
- `inception_resnet_v1`: Szegedy et al. 2017, the FaceNet variant (as in facenet-pytorch), any input >= 80 px.
- `bn_inception`: Inception with batch normalisation (Ioffe and Szegedy 2015), the Group Loss paper's backbone.
- `dlib_features`: the frozen dlib ResNet (its 128-D descriptors are precomputed) followed by a
  trainable linear map initialised to the identity, so training starts from the plain dlib baseline.

Image inputs are float32 [N, 3, S, S], RGB, (x/255 - 0.5)/0.5, aligned with FaceAlignTransform(S, kind).
Weights come from a file the user supplies (`weights=PATH`, a state dict or a Lightning checkpoint);
nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


def conv_bn(cin: int, cout: int, k, stride=1, padding=0) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, padding, bias=False),
        nn.BatchNorm2d(cout, eps=1e-3),
        nn.ReLU(inplace=True),
    )


class Embedding(nn.Module):
    """Pooled features -> dropout -> linear -> batch norm: the embedding layer shared by the image backbones."""

    def __init__(self, features: int, dim: int, dropout: float = 0.0):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(features, dim, bias=False)
        self.bn = nn.BatchNorm1d(dim, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.fc(self.dropout(self.pool(x).flatten(1))))


class SmallCNN(nn.Module):
    """The seed's small Siamese CNN: 4 x (conv3x3-BN-ReLU, conv3x3-BN-ReLU, maxpool), widths 32-64-128-256."""

    def __init__(self, dim: int = 128, width: int = 32, dropout: float = 0.2):
        super().__init__()
        layers, cin = [], 3
        for i in range(4):
            cout = width * 2**i
            layers += [conv_bn(cin, cout, 3, 1, 1), conv_bn(cout, cout, 3, 1, 1), nn.MaxPool2d(2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.embedding = Embedding(cin, dim, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embedding(self.features(x))


# ---- InceptionResnetV1 -------------------------------------------------------------------------------


class Block35(nn.Module):
    def __init__(self, scale: float = 0.17):
        super().__init__()
        self.scale = scale
        self.b0 = conv_bn(256, 32, 1)
        self.b1 = nn.Sequential(conv_bn(256, 32, 1), conv_bn(32, 32, 3, 1, 1))
        self.b2 = nn.Sequential(conv_bn(256, 32, 1), conv_bn(32, 32, 3, 1, 1), conv_bn(32, 32, 3, 1, 1))
        self.conv = nn.Conv2d(96, 256, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.conv(torch.cat([self.b0(x), self.b1(x), self.b2(x)], 1))
        return self.relu(x + self.scale * out)


class Block17(nn.Module):
    def __init__(self, scale: float = 0.10):
        super().__init__()
        self.scale = scale
        self.b0 = conv_bn(896, 128, 1)
        self.b1 = nn.Sequential(
            conv_bn(896, 128, 1), conv_bn(128, 128, (1, 7), 1, (0, 3)), conv_bn(128, 128, (7, 1), 1, (3, 0))
        )
        self.conv = nn.Conv2d(256, 896, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.conv(torch.cat([self.b0(x), self.b1(x)], 1))
        return self.relu(x + self.scale * out)


class Block8(nn.Module):
    def __init__(self, scale: float = 0.20, relu: bool = True):
        super().__init__()
        self.scale = scale
        self.b0 = conv_bn(1792, 192, 1)
        self.b1 = nn.Sequential(
            conv_bn(1792, 192, 1), conv_bn(192, 192, (1, 3), 1, (0, 1)), conv_bn(192, 192, (3, 1), 1, (1, 0))
        )
        self.conv = nn.Conv2d(384, 1792, 1)
        self.relu = nn.ReLU(inplace=True) if relu else nn.Identity()

    def forward(self, x):
        out = self.conv(torch.cat([self.b0(x), self.b1(x)], 1))
        return self.relu(x + self.scale * out)


class Mixed6a(nn.Module):
    def __init__(self):
        super().__init__()
        self.b0 = conv_bn(256, 384, 3, 2)
        self.b1 = nn.Sequential(conv_bn(256, 192, 1), conv_bn(192, 192, 3, 1, 1), conv_bn(192, 256, 3, 2))
        self.b2 = nn.MaxPool2d(3, 2)

    def forward(self, x):
        return torch.cat([self.b0(x), self.b1(x), self.b2(x)], 1)


class Mixed7a(nn.Module):
    def __init__(self):
        super().__init__()
        self.b0 = nn.Sequential(conv_bn(896, 256, 1), conv_bn(256, 384, 3, 2))
        self.b1 = nn.Sequential(conv_bn(896, 256, 1), conv_bn(256, 256, 3, 2))
        self.b2 = nn.Sequential(conv_bn(896, 256, 1), conv_bn(256, 256, 3, 1, 1), conv_bn(256, 256, 3, 2))
        self.b3 = nn.MaxPool2d(3, 2)

    def forward(self, x):
        return torch.cat([self.b0(x), self.b1(x), self.b2(x), self.b3(x)], 1)


class InceptionResnetV1(nn.Module):
    """Inception-ResNet-v1 as used by FaceNet: stem, 5 x Block35, Mixed6a, 10 x Block17, Mixed7a, 5 x Block8, embedding."""

    def __init__(self, dim: int = 512, dropout: float = 0.4):
        super().__init__()
        self.stem = nn.Sequential(
            conv_bn(3, 32, 3, 2),
            conv_bn(32, 32, 3),
            conv_bn(32, 64, 3, 1, 1),
            nn.MaxPool2d(3, 2),
            conv_bn(64, 80, 1),
            conv_bn(80, 192, 3),
            conv_bn(192, 256, 3, 2),
        )
        self.blocks = nn.Sequential(
            *[Block35() for _ in range(5)],
            Mixed6a(),
            *[Block17() for _ in range(10)],
            Mixed7a(),
            *[Block8() for _ in range(4)],
            Block8(scale=1.0, relu=False),
        )
        self.embedding = Embedding(1792, dim, dropout)

    def forward(self, x):
        return self.embedding(self.blocks(self.stem(x)))


# ---- BN-Inception ------------------------------------------------------------------------------------


class InceptionBN(nn.Module):
    """One BN-Inception module: 1x1 | 1x1-3x3 | 1x1-3x3-3x3 | pool(-1x1); stride 2 drops the 1x1 branch."""

    def __init__(self, cin, c1, c3r, c3, cd3r, cd3, pool: str, pool_proj: int, stride: int = 1):
        super().__init__()
        self.b1 = conv_bn(cin, c1, 1) if c1 else None
        self.b3 = nn.Sequential(conv_bn(cin, c3r, 1), conv_bn(c3r, c3, 3, stride, 1))
        self.bd = nn.Sequential(
            conv_bn(cin, cd3r, 1), conv_bn(cd3r, cd3, 3, 1, 1), conv_bn(cd3, cd3, 3, stride, 1)
        )
        pool_layer = nn.AvgPool2d(3, 1, 1) if pool == "avg" else nn.MaxPool2d(3, stride, 1)
        self.bp = nn.Sequential(pool_layer, conv_bn(cin, pool_proj, 1)) if pool_proj else pool_layer
        self.out_channels = c1 + c3 + cd3 + (pool_proj or cin)

    def forward(self, x):
        outs = [self.b1(x)] if self.b1 is not None else []
        return torch.cat(outs + [self.b3(x), self.bd(x), self.bp(x)], 1)


class BNInception(nn.Module):
    """Inception with batch normalisation (GoogLeNet-BN), widths from Ioffe and Szegedy 2015, Figure 5."""

    def __init__(self, dim: int = 512, dropout: float = 0.0):
        super().__init__()
        self.stem = nn.Sequential(
            conv_bn(3, 64, 7, 2, 3),
            nn.MaxPool2d(3, 2, 1),
            conv_bn(64, 64, 1),
            conv_bn(64, 192, 3, 1, 1),
            nn.MaxPool2d(3, 2, 1),
        )
        spec = [  # c1, c3r, c3, cd3r, cd3, pool, pool_proj, stride
            (64, 64, 64, 64, 96, "avg", 32, 1),
            (64, 64, 96, 64, 96, "avg", 64, 1),
            (0, 128, 160, 64, 96, "max", 0, 2),
            (224, 64, 96, 96, 128, "avg", 128, 1),
            (192, 96, 128, 96, 128, "avg", 128, 1),
            (160, 128, 160, 128, 160, "avg", 128, 1),
            (96, 128, 192, 160, 192, "avg", 128, 1),
            (0, 128, 192, 192, 256, "max", 0, 2),
            (352, 192, 320, 160, 224, "avg", 128, 1),
            (352, 192, 320, 192, 224, "max", 128, 1),
        ]
        layers, cin = [], 192
        for c1, c3r, c3, cd3r, cd3, pool, proj, stride in spec:
            block = InceptionBN(cin, c1, c3r, c3, cd3r, cd3, pool, proj, stride)
            layers.append(block)
            cin = block.out_channels
        self.blocks = nn.Sequential(*layers)
        self.embedding = Embedding(cin, dim, dropout)

    def forward(self, x):
        return self.embedding(self.blocks(self.stem(x)))


# ---- frozen dlib features ---------------------------------------------------------------------------


class DlibFeatureHead(nn.Module):
    """Input: the frozen dlib ResNet's 128-D descriptors. A linear map initialised to the identity (plus
    an optional zero-initialised residual MLP), so the untrained head reproduces the dlib baseline exactly."""

    input_dim = 128

    def __init__(self, dim: int = 128, hidden: int = 0, residual: bool = False):
        super().__init__()
        # residual=True: out = x + linear(x) with linear zero-initialised, so weight decay pulls the
        # map towards the identity (the dlib baseline) instead of towards zero
        self.residual = residual and dim == 128
        self.linear = nn.Linear(128, dim, bias=True)
        with torch.no_grad():
            self.linear.weight.zero_()
            if not self.residual:
                self.linear.weight[: min(dim, 128), : min(dim, 128)] = torch.eye(min(dim, 128))
            self.linear.bias.zero_()
        self.mlp = None
        if hidden:
            self.mlp = nn.Sequential(nn.Linear(128, hidden), nn.ReLU(), nn.Linear(hidden, dim))
            nn.init.zeros_(self.mlp[2].weight)
            nn.init.zeros_(self.mlp[2].bias)

    def forward(self, x):
        out = self.linear(x) + x if self.residual else self.linear(x)
        return out + self.mlp(x) if self.mlp is not None else out


BACKBONES = {
    "small_cnn": SmallCNN,
    "inception_resnet_v1": InceptionResnetV1,
    "bn_inception": BNInception,
    "dlib_features": DlibFeatureHead,
}


def build_backbone(name: str, dim: int, weights: str | Path | None = None, **kwargs) -> nn.Module:
    """A backbone by name with embedding size `dim`; `weights` loads a state dict (or a Lightning checkpoint's
    `backbone.*` entries) from a local file."""
    from whosthat.errors import BadInputError

    if name not in BACKBONES:
        raise BadInputError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    model = BACKBONES[name](dim=dim, **kwargs)
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise BadInputError(f"weights file not found: {path}")
        state = torch.load(path, map_location="cpu", weights_only=False)
        state = state.get("state_dict", state)
        if any(k.startswith("backbone.") for k in state):
            state = {k[len("backbone.") :]: v for k, v in state.items() if k.startswith("backbone.")}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or len(missing) == len(model.state_dict()):
            raise BadInputError(f"{path} does not hold {name} weights ({len(unexpected)} unexpected keys)")
    return model


def is_image_backbone(name: str) -> bool:
    return name != "dlib_features"
