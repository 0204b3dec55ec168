"""A simulator's GraphQL schema as a faithful subset of a platform's published one.

`subset_sdl` copies the chosen types and fields of the published SDL verbatim (types, nullability,
arguments, defaults, deprecations), so a simulator can leave things out but never invent them.
`differences` checks any schema against the published one, independently of how it was made.

Regenerate a simulator's schema (the published files live outside the package, in the steering
repository's shared/reference):

    python -m ignite_etl.sandbox.schema_subset PUBLISHED.graphql[.gz] \
        ignite_etl.sandbox.marketplacer.schema_selection ignite_etl/sandbox/marketplacer/schema.graphql
"""

from __future__ import annotations

import gzip
import importlib
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    parse,
    print_ast,
)
from graphql.language import (
    DocumentNode,
    EnumTypeDefinitionNode,
    InputObjectTypeDefinitionNode,
    InputValueDefinitionNode,
    InterfaceTypeDefinitionNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    SchemaDefinitionNode,
    TypeNode,
    UnionTypeDefinitionNode,
)

BUILT_IN_SCALARS = frozenset({"String", "Int", "Float", "Boolean", "ID"})
ALL = "*"
Selection = Mapping[str, "Iterable[str] | str"]
"""Type name -> the field names to keep (object, interface and input types), or "*" for all of it."""


class SelectionError(ValueError):
    """The selection names something the published schema lacks, or leaves a used type out."""


def read_sdl(path: str | Path) -> str:
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return fh.read()


def _named(type_node: TypeNode) -> str:
    while isinstance(type_node, (NonNullTypeNode, ListTypeNode)):
        type_node = type_node.type
    assert isinstance(type_node, NamedTypeNode)
    return type_node.name.value


def subset_sdl(published_sdl: str, selection: Selection, *, header: str = "") -> str:
    """The published definitions of the selected types, each cut down to the selected fields.

    Arguments and input fields whose type is not selected are left out when they may be (nullable or
    with a default); a required one makes the selection incomplete."""
    document = parse(published_sdl)
    definitions: dict[str | None, Any] = {_name(d): d for d in document.definitions}
    missing = sorted(set(selection) - set(definitions))
    if missing:
        raise SelectionError(f"not in the published schema: {', '.join(missing)}")
    kept = set(selection) | BUILT_IN_SCALARS
    problems: list[str] = []

    def usable(value: InputValueDefinitionNode) -> bool:
        if _named(value.type) in kept:
            return True
        if isinstance(value.type, NonNullTypeNode) and value.default_value is None:
            problems.append(f"required argument or input field {value.name.value} needs {_named(value.type)}")
        return False

    out: list[Any] = []
    definition: Any
    for definition in document.definitions:
        name = _name(definition)
        if isinstance(definition, SchemaDefinitionNode):
            operations = tuple(o for o in definition.operation_types if o.type.name.value in kept)
            out.append(SchemaDefinitionNode(directives=definition.directives, operation_types=operations))
            continue
        if name is None or name not in selection:
            continue
        wanted = selection[name]
        if isinstance(definition, (ObjectTypeDefinitionNode, InterfaceTypeDefinitionNode)):
            fields: dict[str, Any] = {f.name.value: f for f in definition.fields}
            names = list(fields) if wanted == ALL else list(wanted)
            unknown = [f for f in names if f not in fields]
            if unknown:
                problems.append(f"{name} has no field {', '.join(unknown)}")
                continue
            chosen: list[Any] = []
            for field_name in names:
                field = fields[field_name]
                if _named(field.type) not in kept:
                    problems.append(f"{name}.{field_name} returns {_named(field.type)}, which is not selected")
                chosen.append(field.__class__(
                    name=field.name, arguments=tuple(a for a in field.arguments if usable(a)), type=field.type,
                    directives=field.directives,
                ))
            interfaces = tuple(i for i in definition.interfaces if i.name.value in kept)
            out.append(definition.__class__(name=definition.name, interfaces=interfaces, directives=definition.directives,
                                            fields=tuple(sorted(chosen, key=lambda f: f.name.value))))
        elif isinstance(definition, InputObjectTypeDefinitionNode):
            names = [f.name.value for f in definition.fields] if wanted == ALL else list(wanted)
            inputs: dict[str, Any] = {f.name.value: f for f in definition.fields}
            out.append(InputObjectTypeDefinitionNode(name=definition.name, directives=definition.directives,
                                                     fields=tuple(inputs[f] for f in names if f in inputs and usable(inputs[f]))))
        elif isinstance(definition, UnionTypeDefinitionNode):
            members = tuple(t for t in definition.types if t.name.value in kept)
            out.append(UnionTypeDefinitionNode(name=definition.name, directives=definition.directives, types=members))
        elif isinstance(definition, (EnumTypeDefinitionNode, ScalarTypeDefinitionNode)):
            out.append(definition)
        else:
            problems.append(f"{name}: cannot take a {type(definition).__name__}")
    if problems:
        raise SelectionError("; ".join(problems))
    text = print_ast(DocumentNode(definitions=tuple(out)))
    return (header + "\n" if header else "") + text + "\n"


def _name(definition: Any) -> str | None:
    name = getattr(definition, "name", None)
    return name.value if name is not None else None


def _type_text(type_) -> str:
    return str(type_)


def differences(schema: GraphQLSchema, published: GraphQLSchema) -> list[str]:
    """Everything `schema` declares that `published` does not, or declares differently: types and their
    kinds, fields with their types and arguments (type and default), interfaces, union members, enum
    values and input fields. An empty list means `schema` is a faithful subset."""
    found: list[str] = []
    type_: Any
    theirs: Any
    for name, type_ in schema.type_map.items():
        if name.startswith("__") or name in BUILT_IN_SCALARS:
            continue
        theirs = published.type_map.get(name)
        if theirs is None:
            found.append(f"type {name} is not published")
            continue
        if type(theirs) is not type(type_):
            found.append(f"{name} is a {type(type_).__name__}, published as a {type(theirs).__name__}")
            continue
        if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType)):
            extra = {i.name for i in type_.interfaces} - {i.name for i in theirs.interfaces}
            if extra:
                found.append(f"{name} implements {sorted(extra)}, which the published type does not")
            for field_name, field in type_.fields.items():
                their_field = theirs.fields.get(field_name)
                if their_field is None:
                    found.append(f"{name}.{field_name} is not published")
                    continue
                if _type_text(field.type) != _type_text(their_field.type):
                    found.append(f"{name}.{field_name} is {field.type}, published as {their_field.type}")
                if field.deprecation_reason != their_field.deprecation_reason:
                    found.append(f"{name}.{field_name} deprecation differs from the published one")
                for arg_name, arg in field.args.items():
                    their_arg = their_field.args.get(arg_name)
                    if their_arg is None:
                        found.append(f"{name}.{field_name}({arg_name}:) is not published")
                    elif _type_text(arg.type) != _type_text(their_arg.type) or arg.default_value != their_arg.default_value:
                        found.append(f"{name}.{field_name}({arg_name}:) differs from the published argument")
        elif isinstance(type_, GraphQLUnionType):
            extra = {t.name for t in type_.types} - {t.name for t in theirs.types}
            if extra:
                found.append(f"union {name} has members {sorted(extra)} that are not published")
        elif isinstance(type_, GraphQLEnumType):
            for value_name, value in type_.values.items():
                their_value = theirs.values.get(value_name)
                if their_value is None:
                    found.append(f"enum {name} value {value_name} is not published")
                elif value.deprecation_reason != their_value.deprecation_reason:
                    found.append(f"enum {name} value {value_name} deprecation differs")
        elif isinstance(type_, GraphQLInputObjectType):
            for field_name, field in type_.fields.items():
                their_field = theirs.fields.get(field_name)
                if their_field is None:
                    found.append(f"input {name}.{field_name} is not published")
                elif _type_text(field.type) != _type_text(their_field.type) or field.default_value != their_field.default_value:
                    found.append(f"input {name}.{field_name} differs from the published input field")
        elif not isinstance(type_, GraphQLScalarType):
            found.append(f"{name}: unexpected kind {type(type_).__name__}")
    for operation in ("query", "mutation", "subscription"):
        ours, theirs = getattr(schema, f"{operation}_type"), getattr(published, f"{operation}_type")
        if ours is not None and (theirs is None or ours.name != theirs.name):
            found.append(f"the {operation} root is {ours.name}, published as {theirs.name if theirs else 'none'}")
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    published_path, selection_module, output = argv
    module = importlib.import_module(selection_module)  # may load the simulator, which reads `output`
    text = subset_sdl(read_sdl(published_path), module.SELECTION, header=module.HEADER)
    Path(output).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
