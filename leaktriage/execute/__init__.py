"""Where extraction runs: worker processes with a time and memory limit per item
(``workers``), a Dask cluster (``cluster``), the sandbox every scan process runs in
(``sandbox``) and what the fork server preloads (``_preload``)."""
