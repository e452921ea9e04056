"""Which network to train: a NAS-Bench-201 cell or a DARTS genotype, for a dataset.

A :class:`NetworkSpec` is a small, printable description that builds the network when called, so the
trainer can construct it on the meta device and initialise it from its own generator.

* ``--arch`` (a NAS-Bench-201 cell string): :class:`~nabench.models.nb201_net.NB201Net` (C=16, N=5) for
  ``cifar10``, ``cifar100`` and ``ImageNet16-120``, the datasets of the benchmark.
* ``--genotype`` (a name such as ``darts-v2`` or a ``Genotype(...)`` literal): DARTS's ``NetworkCIFAR``
  (20 cells, 36 channels) for ``cifar10`` / ``cifar100``, ``NetworkImageNet`` (14 cells, 48 channels) for
  ``imagenet``. The 16x16 ImageNet16-120 images are too small for DARTS's CIFAR network (its auxiliary head
  needs 8x8 maps after two reductions), so that combination is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from torch import nn

from nabench.errors import ConfigError
from nabench.vision.datasets import canonical_name, num_classes

NB201_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
DARTS_DATASETS = ("cifar10", "cifar100", "imagenet")


@dataclass(frozen=True)
class NetworkSpec:
    """A network to build: ``kind`` is ``nb201`` or ``darts``; ``arch`` the cell string or genotype repr."""

    kind: str
    arch: str
    dataset: str
    auxiliary: bool = False
    layers: int | None = None
    channels: int | None = None

    def __call__(self) -> nn.Module:
        classes = num_classes(self.dataset)
        if self.kind == "nb201":
            from nabench.models.nb201_net import NB201Net

            return NB201Net(self.arch, classes, C=self.channels or 16, N=self.layers or 5)
        from nabench.models.darts_net import network_cifar, network_imagenet
        from nabench.spaces.darts import parse

        genotype = parse(self.arch)
        if self.dataset == "imagenet":
            return network_imagenet(genotype, classes, self.layers or 14, self.channels or 48, self.auxiliary)
        return network_cifar(genotype, classes, self.layers or 20, self.channels or 36, self.auxiliary)

    @property
    def short_id(self) -> str:
        """A short stable id of the architecture, for folder names."""
        return f"{self.kind}-{hashlib.sha1(self.arch.encode()).hexdigest()[:8]}"

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "arch": self.arch, "dataset": self.dataset, "auxiliary": self.auxiliary,
                "layers": self.layers, "channels": self.channels}


def network_spec(dataset: str, arch: str | None = None, genotype: str | None = None, auxiliary: bool = True,
                 layers: int | None = None, channels: int | None = None) -> NetworkSpec:
    """Validate the choice of network for ``dataset`` (exactly one of ``arch`` / ``genotype``)."""
    ds = canonical_name(dataset)
    if (arch is None) == (genotype is None):
        raise ConfigError("give exactly one of --arch (a NAS-Bench-201 cell string) or --genotype "
                          "(darts-v2, darts-v1, or a Genotype(...) literal)")
    if arch is not None:
        from nabench.spaces import nb201

        if ds not in NB201_DATASETS:
            raise ConfigError(f"NAS-Bench-201 networks are defined for {', '.join(NB201_DATASETS)}, not {ds}; "
                              "use --genotype for ImageNet")
        return NetworkSpec("nb201", nb201.to_str(nb201.parse(arch)), ds, False, layers, channels)
    from nabench.spaces.darts import parse, to_str

    if ds not in DARTS_DATASETS:
        raise ConfigError(f"DARTS evaluation networks are defined for {', '.join(DARTS_DATASETS)}, not {ds} "
                          "(16x16 images are too small for NetworkCIFAR); use --arch for ImageNet16-120")
    return NetworkSpec("darts", to_str(parse(genotype)), ds, auxiliary, layers, channels)  # type: ignore[arg-type]
