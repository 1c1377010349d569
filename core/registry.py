"""Looking up a named dataclass (a test function or an optimizer) and checking its arguments."""

import dataclasses


def lookup(classes: dict[str, type], kind: str, name: str, arguments: dict, argument_kind: str) -> type:
    """The class registered as `name`, after checking that it accepts every argument; raises
    ValueError naming the unknown name or arguments and what is accepted."""
    try:
        cls = classes[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown {kind} {name!r}; choose one of {', '.join(classes)}") from None
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(arguments) - known
    if unknown:
        raise ValueError(
            f"{name}: unknown {argument_kind}(s) {', '.join(sorted(unknown))}; accepted: {', '.join(sorted(known))}"
        )
    return cls
