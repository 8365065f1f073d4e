"""The distributed crawl's modules use libraries (scrapy-redis, Scrapy, redis-py) through their
public APIs only: no ``obj._name`` of a name the project does not define itself."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = [
    "crawler/frontier.py",
    "crawler/worker.py",
    "crawler/worker_reports.py",
    "crawler/worker_queue.py",
    "crawler/ingest.py",
    "crawler/shop_limit.py",
    "crawler/recrawl.py",
    "crawler/distributed_recrawl.py",
]


def project_names() -> set[str]:
    """Every name the project's code defines: functions, classes, attributes, variables."""
    names = set()
    for path in [*ROOT.glob("crawler/**/*.py"), *ROOT.glob("serumscope/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
    return names


def test_the_distributed_crawl_uses_no_private_library_api():
    ours = project_names()
    private = [
        f"{module}:{node.lineno}: .{node.attr}"
        for module in MODULES
        for node in ast.walk(ast.parse((ROOT / module).read_text()))
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and node.attr not in ours
    ]
    assert private == []
