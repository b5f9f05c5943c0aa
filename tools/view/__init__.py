"""`neurender view`: see runs instead of reading them — a viser web viewer and a static HTML report.

    from tools.view.detect import open_run
    from tools.view.server import start_viewer
    from tools.view.cli import write_report
    viewer = start_viewer([open_run("runs/demo")], port=8080)   # browse http://localhost:8080
    write_report(["runs/demo"], "demo.html")                     # one self-contained file

Run kinds are recognized from their files (`tools.view.detect`); each kind is one module in
`tools.view.pages`. Nothing is imported here, so `neurender view --help` starts without torch.
"""
