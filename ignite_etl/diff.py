"""The pure diff: what SparkLayer must be told so it matches the platform, and nothing more.

Inputs are the request bodies we would send (so "changed" means "a field we send changed") and
the last state SparkLayer accepted. Each `Change` is one write plus the state rows that become
current if SparkLayer accepts it. Full and partial syncs share this code.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

DISCONTINUED = "discontinued"
INTENT = "creating"
"""The state status of a record we are about to create (written and committed before the create is sent):
SparkLayer may or may not have it, so it is created again while it exists on the platform (a 409 turns
into an update) and discontinued or deleted once it does not (a 404 counts as done)."""


def record_hash(body: Mapping[str, Any]) -> str:
    """A stable fingerprint of a request body: key order and whitespace do not matter."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class StateRow:
    """What SparkLayer last accepted for one record."""

    hash: str
    parent_external_id: str | None = None
    status: str | None = None
    sparklayer_id: str | None = None


StateKey = tuple[str, str]  # (entity, external_id)


@dataclass(frozen=True, slots=True)
class Accepted:
    """A state row to store once the write that carries it succeeds."""

    entity: str
    external_id: str
    hash: str
    parent_external_id: str | None = None
    status: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"entity": self.entity, "external_id": self.external_id, "hash": self.hash,
                "parent_external_id": self.parent_external_id, "status": self.status}


@dataclass(frozen=True, slots=True)
class Change:
    """One write to SparkLayer. `action` is one of create, update, add_variants, discontinue
    (products and variants), set (stock, prices), upsert, delete (customers)."""

    entity: str
    external_id: str
    action: str
    body: dict[str, Any] | None
    accepts: tuple[Accepted, ...]
    parent_external_id: str | None = None


@dataclass
class ChangeSet:
    changes: list[Change] = field(default_factory=list)
    unchanged: Counter = field(default_factory=Counter)  # entity -> records needing no write
    skipped: Counter = field(default_factory=Counter)  # entity -> records we cannot and need not send

    def counts(self) -> dict[str, int]:
        """created / updated / discontinued / deleted / unchanged, over records (not writes)."""
        out: Counter = Counter()
        for change in self.changes:
            records = len(change.accepts) or 1
            out[_ACTION_COUNT[change.action]] += records
        out["unchanged"] = sum(self.unchanged.values())
        return {k: out.get(k, 0) for k in ("created", "updated", "discontinued", "deleted", "unchanged")}


_ACTION_COUNT = {
    "create": "created",
    "add_variants": "created",
    "upsert": "updated",
    "set": "updated",
    "update": "updated",
    "discontinue": "discontinued",
    "delete": "deleted",
}


@dataclass(frozen=True, slots=True)
class DesiredProduct:
    """A product as we would send it: `fields` are external_id, title, slug; `variants` full variant bodies."""

    fields: dict[str, Any]
    variants: tuple[dict[str, Any], ...]

    @property
    def external_id(self) -> str:
        return self.fields["external_id"]


def discontinued_marker(external_id: str) -> str:
    """The state hash of a variant we discontinued: any real body differs, so a return is an update."""
    return record_hash({"external_id": external_id, "status": DISCONTINUED})


def diff_products(
    desired: Iterable[DesiredProduct], state: Mapping[StateKey, StateRow], *, complete: bool
) -> ChangeSet:
    """Creates for new products, updates for changed product fields, variant adds/updates, and
    discontinues for variants that left their product. With `complete` (a full extraction), the
    variants of products that vanished from the platform are discontinued too."""
    result = ChangeSet()
    variants_of: dict[str, list[tuple[str, StateRow]]] = defaultdict(list)
    for (entity, external_id), row in state.items():
        if entity == "variant" and row.parent_external_id is not None:
            variants_of[row.parent_external_id].append((external_id, row))

    seen: set[str] = set()
    for product in desired:
        pid = product.external_id
        seen.add(pid)
        product_hash = record_hash(product.fields)
        variant_hashes = {v["external_id"]: record_hash(v) for v in product.variants}

        held_product = state.get(("product", pid))
        if held_product is None or held_product.status == INTENT:
            live = [v for v in product.variants if v.get("status") != DISCONTINUED]
            if not live or product.fields.get("title") is None:
                if held_product is None:
                    result.skipped["product"] += 1  # nothing to create: deleted before we ever sent it
                else:  # deleted after a create that may have reached SparkLayer
                    result.changes.extend(_discontinue(vid, pid) for vid, row in variants_of.get(pid, ())
                                          if row.status != DISCONTINUED)
                continue
            accepts = [Accepted("product", pid, product_hash, status="live")]
            accepts += [
                Accepted("variant", v["external_id"], variant_hashes[v["external_id"]], pid, v.get("status", "live"))
                for v in live
            ]
            body = {**product.fields, "variants": live}
            result.changes.append(Change("product", pid, "create", body, tuple(accepts)))
            continue

        if product.fields.get("title") is None:
            result.unchanged["product"] += 1  # a deleted product reports no title: keep the last one sent
        elif state[("product", pid)].hash != product_hash:
            fields = {k: v for k, v in product.fields.items() if k != "external_id"}
            result.changes.append(
                Change("product", pid, "update", fields, (Accepted("product", pid, product_hash, status="live"),))
            )
        else:
            result.unchanged["product"] += 1

        new_variants: list[dict[str, Any]] = []
        for variant in product.variants:
            vid = variant["external_id"]
            held = state.get(("variant", vid))
            if held is None or held.status == INTENT:
                if variant.get("status") != DISCONTINUED:
                    new_variants.append(variant)
                elif held is not None:  # discontinued after an add that may have reached SparkLayer
                    result.changes.append(_discontinue(vid, pid))
                else:
                    result.skipped["variant"] += 1
            elif held.hash != variant_hashes[vid] and not (
                variant.get("status") == DISCONTINUED and held.status == DISCONTINUED
            ):
                body = {k: v for k, v in variant.items() if k != "external_id"}
                accepted = Accepted("variant", vid, variant_hashes[vid], pid, variant.get("status", "live"))
                action = "discontinue" if variant.get("status") == DISCONTINUED else "update"
                result.changes.append(Change("variant", vid, action, body, (accepted,), pid))
            else:
                result.unchanged["variant"] += 1
        if new_variants:
            added = tuple(
                Accepted("variant", v["external_id"], variant_hashes[v["external_id"]], pid, v.get("status", "live"))
                for v in new_variants
            )
            result.changes.append(Change("product", pid, "add_variants", {"variants": new_variants}, added))

        current = set(variant_hashes)
        for vid, row in variants_of.get(pid, ()):
            if vid not in current and row.status != DISCONTINUED:
                result.changes.append(_discontinue(vid, pid))

    if complete:
        for (entity, pid), _row in state.items():
            if entity != "product" or pid in seen:
                continue
            for vid, row in variants_of.get(pid, ()):
                if row.status != DISCONTINUED:
                    result.changes.append(_discontinue(vid, pid))
    return result


def _discontinue(variant_id: str, product_id: str) -> Change:
    accepted = Accepted("variant", variant_id, discontinued_marker(variant_id), product_id, DISCONTINUED)
    return Change("variant", variant_id, "discontinue", {"status": DISCONTINUED}, (accepted,), product_id)


def diff_records(
    entity: str,
    desired: Iterable[tuple[str, dict[str, Any]]],
    state: Mapping[StateKey, StateRow],
    *,
    complete: bool,
    write_action: str,
    delete_vanished: bool = False,
    vanished: Callable[[str], dict[str, Any]] | None = None,
) -> ChangeSet:
    """Stock levels, prices and customers: a write for each new or changed record; with `complete`
    and `delete_vanished`, a delete for each accepted record the platform no longer has, or with
    `vanished` (key -> body), that body written in its place once (e.g. a stock level of 0)."""
    result = ChangeSet()
    seen: set[str] = set()
    for key, body in desired:
        if key in seen:
            continue  # the first occurrence wins; SparkLayer refuses a key twice in one batch
        seen.add(key)
        body_hash = record_hash(body)
        row = state.get((entity, key))
        if row is not None and row.hash == body_hash:
            result.unchanged[entity] += 1
            continue
        result.changes.append(Change(entity, key, write_action, body, (Accepted(entity, key, body_hash),)))
    if complete and (delete_vanished or vanished is not None):
        for (row_entity, key), row in state.items():
            if row_entity != entity or key in seen:
                continue
            if delete_vanished:
                result.changes.append(Change(entity, key, "delete", None, ()))
                continue
            assert vanished is not None
            body = vanished(key)
            body_hash = record_hash(body)
            if row.hash != body_hash:
                result.changes.append(Change(entity, key, write_action, body, (Accepted(entity, key, body_hash),)))
    return result


def unannounced(
    changes: Iterable[Change], announced: set[str], related: Mapping[str, Iterable[str]]
) -> list[Change]:
    """Drift: the changes no webhook named. A change counts as announced when a webhook named the
    record itself, a record it carries (a new product's variants), its product, or, through
    `related` (keyed by external id or SKU), the platform records it belongs to."""
    out = []
    for change in changes:
        ids = {change.external_id, *(a.external_id for a in change.accepts)}
        if change.parent_external_id:
            ids.add(change.parent_external_id)
        sku = (change.body or {}).get("sku")
        for key in (change.external_id, sku):
            if key:
                ids.update(related.get(key, ()))
        if not ids & announced:
            out.append(change)
    return out
