"""Image datasets (CIFAR-10/100, ImageNet16-120, ImageNet), torch transforms and loaders (needs torch).

Entry points: :func:`nabench.vision.datasets.build_dataset`, :func:`nabench.vision.datasets.num_classes`,
:func:`nabench.vision.loaders.make_loader`.
"""
