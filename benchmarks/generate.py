"""Generate a deterministic synthetic Flask + Celery repository.

    python benchmarks/generate.py OUT --modules 200

Each "module group" is a models, a views (blueprint) and a tasks module (about 500
lines together); plus one Celery/Flask app, a config module, a Procfile and a frontend
script. Same arguments, same bytes.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

FILLER_FUNCTIONS = 12  # plain helpers per module: most real code holds no Celery word


def _helpers(prefix: str) -> str:
    out = []
    for j in range(FILLER_FUNCTIONS):
        out.append(
            f"def {prefix}_helper_{j}(values, factor={j}):\n"
            f'    """Helper {j}."""\n'
            "    total = 0\n"
            "    for index, value in enumerate(values):\n"
            "        if index % 2:\n"
            "            total += value * factor\n"
            "        else:\n"
            "            total -= value // (factor + 1)\n"
            "    return {'total': total, 'count': len(values)}\n\n\n"
        )
    return "".join(out)


def _models(i: int) -> str:
    return (
        f'"""Models of area {i}."""\n\nfrom app.extensions import db\n\n\n'
        f"class Item{i}(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n"
        "    name = db.Column(db.String(80))\n\n    def label(self):\n"
        "        return self.name.title()\n\n\n" + _helpers(f"m{i}")
    )


def _views(i: int) -> str:
    return (
        f'"""Views of area {i}."""\n\nfrom flask import Blueprint, jsonify\n\n'
        f"from app.area{i}.models import Item{i}\nfrom app.area{i}.tasks import refresh_{i}\n\n"
        f"bp = Blueprint('area{i}', __name__)\n\n\n"
        f"@bp.route('/area{i}/<int:item_id>/refresh', methods=['POST'])\n"
        f"def refresh_view_{i}(item_id):\n    result = refresh_{i}.delay(item_id)\n"
        "    return jsonify({'task_id': result.id})\n\n\n"
        f"@bp.route('/area{i}/<int:item_id>')\ndef show_{i}(item_id):\n"
        f"    return jsonify({{'name': Item{i}.query.get(item_id).name}})\n\n\n" + _helpers(f"v{i}")
    )


def _tasks(i: int) -> str:
    return (
        f'"""Tasks of area {i}."""\n\nfrom app.extensions import celery, db\n'
        f"from app.area{i}.models import Item{i}\n\n\n"
        f"@celery.task(name='area{i}.refresh')\ndef refresh_{i}(item_id):\n"
        f"    item = Item{i}.query.get(item_id)\n    item.name = item.label()\n"
        "    db.session.commit()\n    return item.id\n\n\n" + _helpers(f"t{i}")
    )


APP = '''"""The application and its Celery app."""

from celery import Celery
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
celery = Celery(__name__)


def create_app():
    app = Flask(__name__)
    app.config.from_object("app.config.Config")
    db.init_app(app)
    celery.conf.update(app.config)

    class ContextTask(celery.Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery.Task = ContextTask
    return app
'''

CONFIG = '''"""Configuration."""

import os


class Config:
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite://")
    CELERY_BROKER_URL = "redis://localhost:6379/0"
    CELERY_TASK_SERIALIZER = "json"
    CELERY_BEAT_SCHEDULE = {"nightly": {"task": "area0.refresh", "schedule": 86400.0}}
'''

FRONTEND = """async function refresh(area, id) {
  const response = await fetch(`/area${area}/${id}/refresh`, {method: "POST"});
  const data = await response.json();
  return data.task_id;
}
"""


def generate(out: Path, modules: int) -> int:
    """Write the repository; the number of Python lines written."""
    if out.exists():
        shutil.rmtree(out)
    app = out / "app"
    app.mkdir(parents=True)
    files = {
        "app/__init__.py": "",
        "app/extensions.py": APP,
        "app/config.py": CONFIG,
        "wsgi.py": "from app.extensions import create_app\n\napp = create_app()\n",
        "Procfile": "web: gunicorn wsgi:app\nworker: celery -A app.extensions worker -B\n",
        "static/app.js": FRONTEND,
    }
    for i in range(modules):
        files[f"app/area{i}/__init__.py"] = ""
        files[f"app/area{i}/models.py"] = _models(i)
        files[f"app/area{i}/views.py"] = _views(i)
        files[f"app/area{i}/tasks.py"] = _tasks(i)
    lines = 0
    for name, text in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if name.endswith(".py"):
            lines += text.count("\n")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--modules", type=int, default=200, help="module groups (~500 lines each)")
    args = parser.parse_args()
    lines = generate(args.out, args.modules)
    print(f"{args.out}: {args.modules} module groups, {lines} Python lines")


if __name__ == "__main__":
    main()
