"""`neurender view`: see runs instead of reading them — a viser web viewer and a static HTML report.

    from tools.view import open_run, start_viewer, write_report
    viewer = start_viewer([open_run("runs/demo")], port=8080)   # browse http://localhost:8080
    write_report(["runs/demo"], "demo.html")                     # one self-contained file

Run kinds are recognized from their files (`tools.view.detect`); each kind is one module in
`tools.view.pages`.
"""

from tools.view.cli import write_report
from tools.view.detect import detect_kind, open_run, run_kinds
from tools.view.server import Viewer, start_viewer

__all__ = ["Viewer", "detect_kind", "open_run", "run_kinds", "start_viewer", "write_report"]
