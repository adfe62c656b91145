"""The small grammars inside annotation strings: durations, predicates and ``{variables}``.

They live apart from the document schema (``schema.py``) because the runtime and the controller
evaluate them at activation time too: a gate compares a metric with ``predicate_holds``, the
preprocessor binds refs with ``bind``, the placement engine turns ``within`` into seconds.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping

from .exceptions import AnnotationError

DURATION_UNITS: dict[str, float] = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
PREDICATE_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

# The grammars as pattern text, so the JSON Schema of the annotation (annotation_schema.py) states
# the very same rules. ASCII classes only ([0-9], not \d, which is any Unicode digit in Python):
# the text means the same to Python's re and to the ECMA-262 regexes of JSON Schema.
NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
DURATION = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ms|s|m|h)"
_SPACE = r"[ \t\n\r\f\v]*"
PREDICATE = rf"{_SPACE}(<=|>=|==|!=|<|>){_SPACE}({NUMBER}){_SPACE}"
_DURATION = re.compile(DURATION)
_PREDICATE = re.compile(PREDICATE)
VARIABLE_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_VARIABLE = re.compile(r"\{(" + VARIABLE_NAME + r")\}")
# A value bound into a ref must stay one path segment: no separators, no '.' or '..'.
_SAFE_VALUE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]*")


def parse_duration(text: str) -> float:
    """``'500ms'``, ``'2s'``, ``'1.5m'``, ``'1h'`` -> seconds (positive, finite)."""
    if not isinstance(text, str):
        raise AnnotationError("", f"a duration is a string like '2s', not {type(text).__name__}")
    match = _DURATION.fullmatch(text)
    if match is None:
        raise AnnotationError(
            "", f"{text!r} is not a duration; write a number and a unit ms, s, m or h, e.g. '2s'"
        )
    seconds = float(match.group(1)) * DURATION_UNITS[match.group(2)]
    if not seconds > 0 or math.isinf(seconds):
        raise AnnotationError("", f"{text!r} must be a positive duration, e.g. '500ms'")
    return seconds


def parse_predicate(text: str) -> tuple[str, float]:
    """``'<0.8'`` -> ``('<', 0.8)``; operators ``< <= > >= == !=`` followed by a number."""
    if not isinstance(text, str):
        raise AnnotationError("", f"a predicate is a string like '<0.8', not {type(text).__name__}")
    match = _PREDICATE.fullmatch(text)
    if match is None:
        raise AnnotationError(
            "",
            f"{text!r} is not a predicate; write one of < <= > >= == != and a number, e.g. '<0.8'",
        )
    value = float(match.group(2))
    if math.isinf(value):
        raise AnnotationError("", f"{text!r} compares with an infinite number")
    return match.group(1), value


def predicate_holds(predicate: str | tuple[str, float], value: float) -> bool:
    """Whether ``value`` satisfies ``predicate`` (a string or a parsed ``(op, number)``)."""
    op, bound = parse_predicate(predicate) if isinstance(predicate, str) else predicate
    return PREDICATE_OPERATORS[op](float(value), bound)


def template_variables(template: str) -> list[str]:
    """The ``{variable}`` names in ``template``, in order of first appearance."""
    return list(dict.fromkeys(_VARIABLE.findall(template)))


def check_braces(template: str) -> None:
    """Raise unless every brace in ``template`` belongs to a well-formed ``{variable}``."""
    stripped = _VARIABLE.sub("", template)
    if "{" in stripped or "}" in stripped:
        raise AnnotationError(
            "", f"{template!r} has a stray brace; variables look like {{usr}} (a Python identifier)"
        )


def bind(template: str, params: Mapping[str, object]) -> str:
    """Replace every ``{variable}`` of ``template`` by its value in ``params``.

    Values must be strings or integers that stay one path segment (no ``/``, no ``..``), so a
    bound ref can never point outside the artifact store.
    """

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            raise AnnotationError(
                f"params.{name}",
                f"unbound variable {{{name}}} in {template!r}; pass {name!r} as a parameter",
            )
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise AnnotationError(
                f"params.{name}", f"must be a string or an integer, not {type(value).__name__}"
            )
        text = str(value)
        if _SAFE_VALUE.fullmatch(text) is None:
            raise AnnotationError(
                f"params.{name}",
                f"{text!r} cannot be bound into {template!r}: use letters, digits, '_', '-', "
                "'.', '@' (no '/', not starting with '.')",
            )
        return text

    check_braces(template)
    return _VARIABLE.sub(value_of, template)


def match_template(template: str, value: str) -> dict[str, str] | None:
    """The binding under which ``template`` becomes ``value`` (``'{usr}/glucose'`` and
    ``'u1/glucose'`` -> ``{'usr': 'u1'}``), each variable one path segment as ``bind`` allows;
    None when it cannot (a data gate watches every binding of its ref this way)."""
    pattern, names, at = "", [], 0
    for match in _VARIABLE.finditer(template):
        pattern += re.escape(template[at:match.start()])
        name = match.group(1)
        pattern += f"(?P={name})" if name in names else f"(?P<{name}>{_SAFE_VALUE.pattern})"
        names.append(name)
        at = match.end()
    found = re.fullmatch(pattern + re.escape(template[at:]), value)
    return None if found is None else {k: v for k, v in found.groupdict().items()}
