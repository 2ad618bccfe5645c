"""The template library: one YAML file per template in ``templates/``, read once, checked when read.

A template names its language, the variables it needs (each with a type) and the prompt the
LLM gets, where ``{variable}`` stands for a variable's value. A request's variables are checked
against it: a missing, unknown or wrongly typed variable is an error naming the variable.

>>> sorted(t["name"] for t in list_templates())[:2]
['customer-reply-en', 'customer-reply-zh']
"""

from __future__ import annotations

import functools
import string
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
VariableType = Literal["string", "integer", "number", "boolean", "list"]
#: the Python types a JSON value of each variable type may have (bool is not an integer here)
_ACCEPTS: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (int, float),
                                         "boolean": (bool,), "list": (list, tuple)}
_ARTICLE = {"string": "a", "integer": "an", "number": "a", "boolean": "a", "list": "a"}


class Variable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: VariableType
    description: str
    required: bool = True
    default: Any = None
    max_chars: int = Field(2000, ge=1, le=20_000, description="longest string (or list item) accepted")


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    language: Literal["en", "zh"]
    kind: str = Field(..., description="what it writes: product-description, marketing-copy, customer-reply…")
    description: str
    variables: dict[str, Variable]
    system: str = ""
    prompt: str

    @model_validator(mode="after")
    def _placeholders_are_variables(self):
        used = {field for _, field, _, _ in string.Formatter().parse(self.prompt + self.system) if field is not None}
        unknown = sorted(used - set(self.variables))
        if unknown:
            raise ValueError(f"the prompt uses {unknown}, which are not among its variables {sorted(self.variables)}")
        for name, var in self.variables.items():
            if not var.required and var.default is None:
                raise ValueError(f"optional variable {name!r} needs a default")
        return self

    def check(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` with defaults filled in; ``ValueError`` naming the first missing, unknown or mistyped variable."""
        unknown = sorted(set(values) - set(self.variables))
        if unknown:
            raise ValueError(f"template {self.name!r} has no variable {unknown[0]!r}; its variables: "
                             f"{', '.join(sorted(self.variables))}")
        out = {}
        for name, var in self.variables.items():
            if name not in values or values[name] is None:
                if var.required:
                    raise ValueError(f"template {self.name!r} needs variable {name!r} ({var.type}: {var.description})")
                out[name] = var.default
                continue
            out[name] = _checked(self.name, name, var, values[name])
        return out

    def render(self, values: dict[str, Any]) -> list[dict[str, str]]:
        """Chat messages for already checked ``values`` (lists joined in the template's language)."""
        sep = "、" if self.language == "zh" else ", "
        shown = {k: sep.join(map(str, v)) if isinstance(v, (list, tuple)) else _plain(v) for k, v in values.items()}
        messages = [{"role": "system", "content": self.system.format_map(shown)}] if self.system else []
        return [*messages, {"role": "user", "content": self.prompt.format_map(shown).strip()}]

    def listing(self) -> dict[str, Any]:
        """What ``list_templates`` shows of the template: everything but the prompt."""
        return {"name": self.name, "language": self.language, "kind": self.kind, "description": self.description,
                "variables": {k: v.model_dump(exclude={"max_chars"}) for k, v in self.variables.items()}}


def _plain(value: Any) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def _checked(template: str, name: str, var: Variable, value: Any) -> Any:
    wrong = isinstance(value, bool) and var.type in ("integer", "number")
    if wrong or not isinstance(value, _ACCEPTS[var.type]):
        raise ValueError(f"template {template!r}: variable {name!r} must be {_ARTICLE[var.type]} {var.type}, got "
                         f"{type(value).__name__} {value!r:.40}")
    items = value if var.type == "list" else [value] if var.type == "string" else []
    for item in items:
        if not isinstance(item, (str, int, float)) or isinstance(item, bool) and var.type == "list":
            raise ValueError(f"template {template!r}: variable {name!r} must be a list of strings or numbers")
        if len(str(item)) > var.max_chars:
            raise ValueError(f"template {template!r}: variable {name!r} is longer than {var.max_chars} characters")
    if var.type == "string" and not value.strip():
        raise ValueError(f"template {template!r}: variable {name!r} is blank")
    return list(value) if var.type == "list" else value


@functools.cache
def template_library(directory: Path = TEMPLATES_DIR) -> dict[str, Template]:
    """Every template in ``directory`` by name; a bad file raises ``ValueError`` naming it."""
    import yaml

    library: dict[str, Template] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            template = Template.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (yaml.YAMLError, ValidationError) as exc:
            raise ValueError(f"invalid content template {path}: {exc}") from None
        if template.name in library:
            raise ValueError(f"two content templates are named {template.name!r} ({path})")
        library[template.name] = template
    return library


def get_template(name: str) -> Template:
    """The template called ``name``; ``ValueError`` listing the known ones otherwise."""
    library = template_library()
    if name not in library:
        raise ValueError(f"no content template {name!r}; templates: {', '.join(sorted(library))}")
    return library[name]


def list_templates(language: str | None = None) -> list[dict[str, Any]]:
    """Every template (name, language, kind, description, variables), optionally of one language."""
    return [t.listing() for t in template_library().values() if language in (None, t.language)]


__all__ = ["TEMPLATES_DIR", "Template", "Variable", "get_template", "list_templates", "template_library"]
