"""A test searcher that asks a fixed sequence of architectures (shared by the charging and NA-mode tests)."""

from __future__ import annotations

from nabench.search.base import Searcher


class Scripted(Searcher):
    """Asks a fixed sequence of architectures, then repeats the last one."""

    name = "scripted"

    def __init__(self, space, rng, script):
        super().__init__(space, rng)
        self.script, self.i = list(script), 0

    def _ask(self):
        a = self.script[min(self.i, len(self.script) - 1)]
        self.i += 1
        return a

    def _tell(self, arch, score):
        pass
