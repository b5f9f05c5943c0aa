"""Batch jobs of independent tasks, each writing one folder: the data engine and batch renders.

- `scenes.jobs.folders`: `FolderJob` (N tasks, task i writes `folder(i)`), `execute` (one task, written
  atomically through a temp folder; the resume mechanism), `TaskResources`.
- `scenes.jobs.driver`: `run_job(job, runner)`: skip what exists, run the rest, retry, show progress.
- `scenes.jobs.local`: `InlineRunner` (this process), `PoolRunner` (local worker processes).
- `scenes.jobs.ray_runner`: `RayRunner` (a local Ray instance or a cluster); the only module that
  imports Ray, imported only when asked for.
"""
