"""scenes/FORMAT.md documents every field of the scene schema."""

from pathlib import Path

import pytest
from pydantic import BaseModel

import scenes.assets as assets
import scenes.schema as schema

DOC = (Path(__file__).parents[2] / "scenes" / "FORMAT.md").read_text()
MODELS = [m for mod in (schema, assets) for m in vars(mod).values()
          if isinstance(m, type) and issubclass(m, BaseModel) and m is not schema.Spec]


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_every_field_is_documented(model: type[BaseModel]) -> None:
    missing = [f for f in model.model_fields if f"`{f}`" not in DOC]
    assert not missing, f"{model.__name__}: {missing} not in scenes/FORMAT.md"
