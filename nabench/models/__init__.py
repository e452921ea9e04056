"""Torch building blocks and networks (needs the ``torch`` extra)."""
