"""Generate the README's reference sections from ``schema/`` and the property list.

``python -m driver.docs`` prints the generated markdown; ``--write README.md``
replaces the block between the ``BEGIN GENERATED REFERENCE`` markers.  A test
checks the README is up to date, so the reference cannot drift from schema/.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from . import schema
from .catalog import takers
from .properties import COMMON, Property, describe
from .providers import provider_classes
from .validation import describe_allowed

BEGIN = "<!-- BEGIN GENERATED REFERENCE: python -m driver.docs --write README.md -->"
END = "<!-- END GENERATED REFERENCE -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _yes(flag: bool) -> str:
    return "yes" if flag else ""


def _properties_table(properties: Sequence[Property]) -> list[str]:
    rows = ["| property | default | environment | meaning |", "| --- | --- | --- | --- |"]
    rows += [f"| `{n}` | {d} | {e} | {_cell(m)} |" for n, d, e, m in describe(properties)]
    return rows


def reference(catalog: schema.Catalog | None = None) -> str:
    """The markdown reference: connection properties, tables, procedures."""
    cat = catalog or schema.load()
    out: list[str] = ["### Connection properties", ""]
    out += ["Every provider takes these:", ""]
    out += _properties_table(COMMON)
    for cls in provider_classes():
        out += ["", f"`Provider={cls.name}`: {cls.description}", ""]
        out += _properties_table(cls.properties)
    out += [""]
    for table in cat.tables.values():
        out += [f"### Table `{table.name}`", "", _cell(table.description), ""]
        if table.source == "events":
            indexed = ", ".join(f"`{c}`" for c in table.indexes)
            out += [
                "Read-only. Recorded by `confsql listen` (see "
                "[Conference timelines](#conference-timelines)); a connection reads it when the "
                f"`EventsDb` property names the receiver's database. Indexed: {indexed}.",
                "",
            ]
        writes = [
            verb
            for verb, proc in (
                ("INSERT", table.insert),
                ("UPDATE", table.update),
                ("DELETE", table.delete),
            )
            if proc
        ]
        if writes:
            procs = ", ".join(
                f"{v} → `{p}`"
                for v, p in (
                    ("INSERT", table.insert),
                    ("UPDATE", table.update),
                    ("DELETE", table.delete),
                )
                if p
            )
            out += [f"Writes: {procs}.", ""]
        out += [
            "| column | type | key | writable | pushed to the API | description |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for c in table.columns:
            pushed = ", ".join(f"`{op}` ({how})" for op, how in c.push.items())
            out.append(
                f"| `{c.name}` | {c.type} | {_yes(c.key)} | {_yes(c.writable)} | {pushed} "
                f"| {_cell(c.description)} |"
            )
        hidden = cat.write_columns(table)
        if hidden:
            names = ", ".join(f"`{c.name}`" for c in hidden)
            out += ["", f"Hidden write-only columns (inputs of its procedures): {names}."]
        out.append("")
    for proc in cat.procedures.values():
        out += [f"### Procedure `{proc.name}`", "", _cell(proc.description), ""]
        out += [
            "| input | type | required | allowed | providers | description |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        out += [
            f"| `{i.name}` | {i.type} | {_yes(i.required)} | {_cell(describe_allowed(i))} "
            f"| {', '.join(takers(cat, proc.name, i.name))} | {_cell(i.description)} |"
            for i in proc.inputs
        ]
        results = ", ".join(f"`{r.name}`" for r in proc.results)
        out += ["", f"Returns one row: {results}.", ""]
    return "\n".join(out).rstrip() + "\n"


def splice(readme: str, generated: str) -> str:
    """``readme`` with the generated block replaced."""
    head, _, rest = readme.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{generated}{END}{tail}"


def main(argv: list[str] | None = None) -> None:
    """Print the reference, or write it into a README."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", metavar="README", type=Path)
    args = parser.parse_args(argv)
    generated = reference()
    if args.write:
        args.write.write_text(splice(args.write.read_text(), generated))
    else:
        print(generated, end="")


if __name__ == "__main__":
    main()
