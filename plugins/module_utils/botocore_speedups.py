# Copyright: crossaccount.aws contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The botocore speed-ups, in one optional module: each relies on botocore behaviour that is not a
documented interface, each is checked before use, and without it the scan takes the ordinary
(slower) path. tests/unit/plugins/module_utils/test_botocore_speedups.py guards every one of them
and fails loudly when botocore changes shape; docs/design.md lists them ("Private interfaces used").

1. **Shared clients, per-request credentials** (``RoutedCredentials``, ``acting_as``). A botocore
   client signs every request (and every retry) in the calling thread with
   ``request_signer._credentials.get_frozen_credentials()``. A client created with a
   ``RoutedCredentials`` object therefore signs with whatever credentials the calling thread has
   bound with ``acting_as(credentials)``: one client per (service, region) serves every account,
   which removes the client creation (~6.5 ms even memoised), the cold endpoint resolution and the
   new HTTPS connection that a client per account-region costs. Unbound, it refuses to sign
   (``UnboundCredentialsError``): a shared client can never fall back to some other identity.
   Refreshable credentials keep refreshing: the bound object is the account's own
   ``DeferredRefreshableCredentials``, asked for frozen keys at every signature.
2. **Memoised client classes** (``memo_creator_class``). botocore rebuilds the client class (~830 EC2
   method stubs) and a fresh service model for every client, ~30 ms each; ``_MemoClientCreator``
   keeps both per session (~5 ms per client). Used for the few clients still created (one per
   service and region, STS, Organizations, and every client on the slow path).
3. **A faster EC2 answer parser** (``parser_factory``). botocore's XML parser walks every member
   of a structure's shape for every structure in the answer (an instance document has ~60
   members, ~22 structures): about 0.8 ms of CPU per instance. ``_FastEC2QueryParser`` is
   botocore's ``EC2QueryParser`` with a plan of the shape's members kept per shape and element
   names stripped of their namespace once per name: the same output (the guard tests compare it
   with botocore's own parser on real and hostile answers), about half the CPU. Installed through
   ``Session.register_component`` (public) as the session's ``response_parser_factory``; any
   structure the plan does not cover (exceptions, unions, XML attributes) goes to botocore's
   method unchanged.
4. **One event-name alias memo for all clients** (``share_alias_memo``). botocore's ``EventAliaser``
   translates every event name it sees (``before-call.ec2.DescribeInstances`` ...) through a loop
   over all its aliases, memoised per aliaser; each client gets a copy of the session's aliaser
   with an empty memo, so every new client pays ~1-2 ms of CPU re-aliasing the same few dozen
   names on creation and on its first call (a third of a region client's cold cost in the seed
   case, 4 accounts x 20 regions). ``_SharedMemoAliaser`` is botocore's ``EventAliaser`` whose
   copies keep the same memo (same aliases, same answers); it is given to clients through the
   public ``Session.register_component("event_emitter", ...)`` and wraps the session's own
   emitter, so every handler is the same.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import threading
import weakref
from typing import Any, Iterator

try:
    import botocore
    import botocore.client
    import botocore.credentials
    import botocore.hooks
    import botocore.parsers
    import botocore.retries.quota
    import botocore.retries.standard
except ImportError:  # pragma: no cover - credentials.require_botocore() reports it
    botocore = None


class UnboundCredentialsError(RuntimeError):
    """A shared client was asked to sign a request outside ``acting_as``."""


# -- 1. shared clients, per-request credentials --------------------------------------------------

_BOUND: contextvars.ContextVar[Any] = contextvars.ContextVar("crossaccount_bound_credentials", default=None)


@contextlib.contextmanager
def acting_as(credentials: Any) -> Iterator[None]:
    """Within the block, shared clients sign this thread's requests with ``credentials``."""
    if credentials is None:
        raise UnboundCredentialsError("acting_as() needs credentials")
    token = _BOUND.set(credentials)
    try:
        yield
    finally:
        _BOUND.reset(token)


def bound_credentials() -> Any:
    return _BOUND.get()


def _routed_base() -> type:
    return botocore.credentials.Credentials if botocore is not None else object


class RoutedCredentials(_routed_base()):  # type: ignore[misc]
    """The credentials of a shared client: the ones the calling thread bound with ``acting_as``.

    botocore reads a client's credentials only through ``get_frozen_credentials()`` (and, for
    some services, ``access_key``/``method``); every one of them is answered from the bound
    credentials, so each request is signed with its own account's keys, refreshed when due."""

    def __init__(self) -> None:  # noqa: D107 - no keys of its own, nothing of Credentials.__init__
        pass

    @staticmethod
    def _current() -> Any:
        bound = _BOUND.get()
        if bound is None:
            raise UnboundCredentialsError(
                "a shared client was used outside acting_as(): refusing to sign with no account's credentials"
            )
        return bound

    def get_frozen_credentials(self) -> Any:
        return self._current().get_frozen_credentials()

    @property
    def access_key(self) -> str:
        return self.get_frozen_credentials().access_key

    @property
    def secret_key(self) -> str:
        return self.get_frozen_credentials().secret_key

    @property
    def token(self) -> str | None:
        return self.get_frozen_credentials().token

    @property
    def account_id(self) -> str | None:
        return getattr(self.get_frozen_credentials(), "account_id", None)

    @property
    def method(self) -> str:
        bound = _BOUND.get()
        return getattr(bound, "method", "routed") if bound is not None else "routed"

    def __repr__(self) -> str:  # never shows keys
        return "RoutedCredentials()"


def _per_account_quota_class() -> type | None:
    """A stand-in for ``botocore.retries.quota.RetryQuota`` that keeps one botocore quota per
    account bound with ``acting_as``, or None when botocore's quota changed shape.

    botocore's standard retry mode (also under adaptive) gives each client a retry quota (500
    units; a retry costs 5, 10 for a timeout; a success gives 1 back): once spent, the client
    stops retrying. On a shared client one quota would serve every account of the region, so a
    few accounts throttled or timing out on every attempt would leave the others no retry at all:
    their first throttle would fail them. Per account, each account-region has its own quota, as
    with a client per account-region."""
    base = getattr(getattr(getattr(botocore, "retries", None), "quota", None), "RetryQuota", None)
    try:
        init = list(inspect.signature(base.__init__).parameters)
        acquire = list(inspect.signature(base.acquire).parameters)
        release = list(inspect.signature(base.release).parameters)
        made_at_call_time = "quota.RetryQuota(" in inspect.getsource(botocore.retries.standard.register_retry_handler)
    except (AttributeError, TypeError, ValueError, OSError):
        return None
    if init[:2] != ["self", "initial_capacity"] or acquire != release or acquire != ["self", "capacity_amount"]:
        return None
    if not made_at_call_time:
        return None

    class _PerAccountRetryQuota:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._make = lambda: base(*args, **kwargs)
            self._unbound = self._make()  # no account bound: botocore's one quota
            self._full = self._unbound.available_capacity  # what a new quota holds
            self._quotas: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
            self._lock = threading.Lock()

        def _quota(self, make: bool = True) -> Any:
            bound = _BOUND.get()
            if bound is None:
                return self._unbound
            try:
                quota = self._quotas.get(bound)
                if quota is None and make:
                    with self._lock:
                        quota = self._quotas.get(bound)
                        if quota is None:
                            quota = self._quotas[bound] = self._make()
            except TypeError:  # credentials that cannot be a weak key: botocore's one quota
                return self._unbound
            return quota

        def acquire(self, capacity_amount: int) -> bool:
            return self._quota().acquire(capacity_amount)

        def release(self, capacity_amount: int) -> None:
            # (after every call) an account that never retried has a full quota: none is made for it
            quota = self._quota(make=False)
            if quota is not None:
                quota.release(capacity_amount)

        @property
        def available_capacity(self) -> int:
            quota = self._quota(make=False)
            return self._full if quota is None else quota.available_capacity

    return _PerAccountRetryQuota


PER_ACCOUNT_QUOTA = _per_account_quota_class() if botocore is not None else None


def routing_works(client: Any, routed: RoutedCredentials) -> bool:
    """True when ``client`` signs through ``routed`` (botocore's request signer holds the very
    credentials object the client was created with). Checked on every shared client; when False
    the factory uses a client per account-region instead."""
    signer = getattr(client, "_request_signer", None)
    if signer is None or getattr(signer, "_credentials", None) is not routed:
        return False
    try:
        params = inspect.signature(type(signer).get_auth_instance).parameters
    except (TypeError, ValueError):
        return False
    return "signing_name" in params and "region_name" in params


# -- 2. memoised client classes -------------------------------------------------------------------

# data loader of a memoised session -> memo of service models and client classes. Keyed by the
# loader (one per botocore session, shared by its shallow copies) so no other session is touched.
_MEMOS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Held while botocore.client.ClientCreator is swapped for _MemoClientCreator (see create_client).
_SWAP_LOCK = threading.Lock()


def memo_creator_class() -> type | None:
    """A ``botocore.client.ClientCreator`` subclass that memoises the service model and the client
    class per session, or None when botocore's private methods are not the expected ones."""
    base = getattr(getattr(botocore, "client", None), "ClientCreator", None)
    try:
        load = list(inspect.signature(base._load_service_model).parameters)
        build = list(inspect.signature(base._create_client_class).parameters)
    except (AttributeError, TypeError, ValueError):
        return None
    if load != ["self", "service_name", "api_version"] or build != ["self", "service_name", "service_model"]:
        return None

    class _MemoClientCreator(base):
        """Same as botocore's, except that for a memoised session the service model and the client
        class are built once. Both are read-only after creation: every per-client part
        (credentials, region, endpoint, config, event hooks, HTTP pool) is still made per client.
        For any other session it is botocore's class unchanged."""

        def _memo(self) -> dict | None:
            # botocore's private attribute (ClientCreator.__init__ keeps the loader as _loader):
            # gone or renamed, there is no memo and botocore's own methods run unchanged
            try:
                return _MEMOS.get(self.__dict__.get("_loader"))
            except TypeError:  # not weak-referenceable (None included)
                return None

        def _load_service_model(self, service_name: str, api_version: str | None = None) -> Any:
            memo = self._memo()
            if memo is None:
                return super()._load_service_model(service_name, api_version)
            key = ("model", service_name, api_version)
            if key not in memo:
                memo[key] = super()._load_service_model(service_name, api_version)
            return memo[key]

        def _create_client_class(self, service_name: str, service_model: Any) -> type:
            memo = self._memo()
            emitter = self.__dict__.get("_event_emitter")  # botocore's private attribute, as _loader
            if memo is None or emitter is None:
                return super()._create_client_class(service_name, service_model)
            key = ("class", service_name)
            cached = memo.get(key)
            # the class depends on the model and on the 'creating-client-class' handlers
            if cached is None or cached[0] is not service_model or cached[1] is not emitter:
                cached = (service_model, emitter, super()._create_client_class(service_name, service_model))
                memo[key] = cached
            return cached[2]

    return _MemoClientCreator


MEMO_CREATOR = memo_creator_class() if botocore is not None else None


def memoise(session: Any) -> bool:
    """Start a memo for ``session`` (and its shallow copies); False when not possible."""
    if MEMO_CREATOR is None:
        return False
    try:
        _MEMOS[session.get_component("data_loader")] = {}
    except Exception:  # noqa: BLE001 - no memo is only slower
        return False
    return True


def create_client(session: Any, memoised: bool, service: str, *, shared: bool = False, **kwargs: Any) -> Any:
    """``session.create_client(service, **kwargs)``, through ``_MemoClientCreator`` when possible,
    and for a ``shared`` client (one signing through ``RoutedCredentials``) with a retry quota per
    account (``_per_account_quota_class``).

    botocore's Session.create_client looks ``botocore.client.ClientCreator`` up at call time, and
    its standard retry handler ``botocore.retries.quota.RetryQuota``; they are swapped for ours
    only for the duration of the call, under a module lock. The subclass behaves exactly like
    botocore's for any session that is not memoised, the quota like botocore's for calls made
    outside ``acting_as``."""
    swaps = []
    if memoised and MEMO_CREATOR is not None:
        swaps.append((botocore.client, "ClientCreator", MEMO_CREATOR))
    if shared and PER_ACCOUNT_QUOTA is not None:
        swaps.append((botocore.retries.quota, "RetryQuota", PER_ACCOUNT_QUOTA))
    if not swaps:
        return session.create_client(service, **kwargs)
    with _SWAP_LOCK:
        originals = [(module, name, getattr(module, name)) for module, name, _new in swaps]
        for module, name, new in swaps:
            setattr(module, name, new)
        try:
            return session.create_client(service, **kwargs)
        finally:
            for module, name, original in originals:
                setattr(module, name, original)


# -- 3. a faster EC2 answer parser ------------------------------------------------------------------

# A structure's plan is kept on its shape object (so it goes with the service model): the members
# to read, in the shape's order, as (element name, member name, member shape, is a string); None
# for a structure botocore's own method must handle.
_PLAN_ATTR = "_crossaccount_fast_parser_plan"
_NO_PLAN = object()
# element tag -> tag without its namespace; bounded in number and length: tags come from the answer
_TAGS: dict[str, str] = {}
_MAX_TAGS = 4096
_MAX_TAG_LENGTH = 128


def _fast_parser_class() -> type | None:
    """``botocore.parsers.EC2QueryParser`` with faster structures, or None when botocore's parser
    no longer has the expected shape (then botocore's parser is used as it is)."""
    parsers = getattr(botocore, "parsers", None)
    base = getattr(parsers, "EC2QueryParser", None)
    xml_base = getattr(parsers, "BaseXMLResponseParser", None)
    root = getattr(parsers, "ResponseParser", None)
    try:
        structure = list(inspect.signature(base._handle_structure).parameters)
        key_name = list(inspect.signature(base._member_key_name).parameters)
        node_tag = list(inspect.signature(base._node_tag).parameters)
        locations = base.KNOWN_LOCATIONS
        # the methods replaced or relied on are the generic XML ones: no EC2 or query override
        generic = (
            base._handle_structure is xml_base._handle_structure
            and base._build_name_to_xml_node is xml_base._build_name_to_xml_node
            and base._node_tag is xml_base._node_tag
            and base._member_key_name is xml_base._member_key_name
            and base._handle_string is xml_base._handle_string
            and base._parse_shape is root._parse_shape
        )
        # the namespace pattern _node_tag uses is an instance attribute set by botocore's __init__
        namespace_re = callable(getattr(getattr(base(), "_namespace_re", None), "sub", None))
    except (AttributeError, TypeError, ValueError):
        return None
    if (
        structure != ["self", "shape", "node"]
        or key_name != ["self", "shape", "member_name"]
        or node_tag != ["self", "node"]
        or not isinstance(locations, (tuple, list, set, frozenset))
        or not generic
        or not namespace_re
    ):
        return None

    class _FastEC2QueryParser(base):
        def _node_tag(self, node: Any) -> str:
            tag = node.tag
            name = _TAGS.get(tag)
            if name is None:
                name = self._namespace_re.sub("", tag)
                if len(_TAGS) < _MAX_TAGS and len(tag) <= _MAX_TAG_LENGTH:
                    _TAGS[tag] = name
            return name

        def _plan(self, shape: Any) -> Any:
            plan: Any = shape.__dict__.get(_PLAN_ATTR, _NO_PLAN)
            if plan is not _NO_PLAN:
                return plan
            plan = None
            if not shape.metadata.get("exception", False) and not shape.is_tagged_union:
                plan = []
                for member_name, member_shape in shape.members.items():
                    serialization = member_shape.serialization
                    if serialization.get("xmlAttribute"):
                        plan = None
                        break
                    if serialization.get("location") in self.KNOWN_LOCATIONS or serialization.get("eventheader"):
                        continue
                    xml_name = self._member_key_name(member_shape, member_name)
                    plan.append((xml_name, member_name, member_shape, member_shape.type_name == "string"))
                plan = tuple(plan) if plan is not None else None
            shape.__dict__[_PLAN_ATTR] = plan
            return plan

        def _handle_structure(self, shape: Any, node: Any) -> Any:
            plan = self._plan(shape)
            if plan is None or isinstance(node, list):
                return super()._handle_structure(shape, node)
            # as botocore's _build_name_to_xml_node: repeated elements become a list of nodes
            xml_dict: dict[str, Any] = {}
            for item in node:
                key = self._node_tag(item)
                found = xml_dict.get(key)
                if found is None:
                    xml_dict[key] = item
                elif isinstance(found, list):
                    found.append(item)
                else:
                    xml_dict[key] = [found, item]
            parsed = {}
            for xml_name, member_name, member_shape, is_string in plan:
                member_node = xml_dict.get(xml_name)
                if member_node is None:
                    continue
                if is_string and not isinstance(member_node, list):
                    text = member_node.text  # botocore's _handle_string: an empty element is ""
                    parsed[member_name] = "" if text is None else text
                else:
                    parsed[member_name] = self._parse_shape(member_shape, member_node)
            return parsed

    return _FastEC2QueryParser


FAST_EC2_PARSER = _fast_parser_class() if botocore is not None else None


def parser_factory(**defaults: Any) -> Any:
    """A ``botocore.parsers.ResponseParserFactory`` with ``defaults`` (e.g. ``timestamp_parser``)
    whose parser for the ``ec2`` protocol is the faster one when available; register it with
    ``session.register_component("response_parser_factory", ...)``."""

    class _Factory(botocore.parsers.ResponseParserFactory):
        def create_parser(self, protocol_name: str) -> Any:
            if protocol_name == "ec2" and FAST_EC2_PARSER is not None:
                return FAST_EC2_PARSER(**defaults)
            return super().create_parser(protocol_name)

    factory = _Factory()
    factory.set_parser_defaults(**defaults)
    return factory


# -- 4. one event-name alias memo for all clients --------------------------------------------------


def _shared_memo_aliaser_class() -> type | None:
    """``botocore.hooks.EventAliaser`` whose copies share its alias memo, or None when the aliaser
    no longer has the expected shape (then each client keeps a memo of its own, as in botocore)."""
    base = getattr(getattr(botocore, "hooks", None), "EventAliaser", None)
    try:
        init = list(inspect.signature(base.__init__).parameters)
        probe = base(botocore.hooks.HierarchicalEmitter())
        shape_ok = (
            isinstance(probe.__dict__.get("_alias_name_cache"), dict)
            and "_event_aliases" in probe.__dict__
            and "_emitter" in probe.__dict__
            and "__copy__" in base.__dict__
            and callable(getattr(base, "_alias_event_name", None))
        )
    except (AttributeError, TypeError, ValueError):
        return None
    if init != ["self", "event_emitter", "event_aliases"] or not shape_ok:
        return None

    class _SharedMemoAliaser(base):
        """botocore's EventAliaser; its copies (one per client) share the memo of alias answers.
        The answer for an event name depends only on the aliases, which every copy has equal."""

        def __copy__(self) -> Any:
            copied = super().__copy__()
            if copied._event_aliases == self._event_aliases:
                copied._alias_name_cache = self._alias_name_cache
            return copied

    return _SharedMemoAliaser


SHARED_MEMO_ALIASER = _shared_memo_aliaser_class() if botocore is not None else None


def share_alias_memo(session: Any) -> bool:
    """Give ``session``'s clients event aliasers that share one alias memo; False when not
    possible (botocore changed shape: clients alias as botocore does)."""
    if SHARED_MEMO_ALIASER is None:
        return False
    try:
        current = session.get_component("event_emitter")
        if current.__class__ is not botocore.hooks.EventAliaser:
            return False  # someone else's emitter: leave it alone
        shared = SHARED_MEMO_ALIASER(current._emitter, current._event_aliases)
        shared._alias_name_cache = current._alias_name_cache
        session.register_component("event_emitter", shared)
    except Exception:  # noqa: BLE001 - no shared memo is only slower
        return False
    return True
