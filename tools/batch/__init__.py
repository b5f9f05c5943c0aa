"""Batch runs of the jobs on this machine or on Ray (`--ray [ADDRESS]`), over the one folder-job
mechanism of `scenes.jobs` (atomic per-task folders, resume, retries, progress).

- `tools.batch.options`: the shared `--ray`, `--workers`, `--retries`, `--chunk` options and the runner
  they select (importing it loads neither torch nor Ray).
- `tools.batch.inputs`: a list file or glob of inputs → paths and their output folder names.
- `tools.batch.job`: `InputBatchJob` (one run directory per input) and `batch.json`, the batch index.
- `tools.batch.render`: `neurender render SCENE_LIST`: many scene files as one job.
- `tools.batch.pc2img`: many point clouds through pc2img as one job.
"""
