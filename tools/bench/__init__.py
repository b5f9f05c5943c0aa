"""`neurender bench <job>`: timed workloads, one module per job, all on one harness.

`harness` times (medians after warm-up, wall and process CPU seconds, load) and writes JSON + Markdown
with the machine; `contention` provides busy competing processes for contended timings. A job's bench
is one module here exposing `register(bench_app)` (adding a `bench <job>` command) plus its line in
`tools.cli.COMMANDS`.
"""
