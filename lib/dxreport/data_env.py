"""Environment variables shared by the build process and its kernels."""

# Hash (cache.data_hash) of data files the build has already validated. `data.load` skips the
# pandera run when the files it is asked to read hash to this value: same bytes, same verdict.
VALIDATED_ENV = "DXREPORT_VALIDATED_DATA"

# Folder the kernels of one pool share the charts they draw in (`charts.drawn`); set by
# `execute.KernelPool` for its own kernels only, never passed on from the environment.
CHART_STORE_ENV = "DXREPORT_CHART_STORE"
