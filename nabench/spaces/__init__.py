"""Search spaces: the NAS-Bench-201 cell (:mod:`.nb201`) and DARTS genotypes (:mod:`.darts`)."""
