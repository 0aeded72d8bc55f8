"""The async API: ``await registry.astore(UserStore).get_by_email(...)`` (docs/async.md).

Store logic is written once, in the synchronous stores; this package runs it for
coroutines. Two runners, chosen by the backend:

* :mod:`~aragora_storage_core.aio.worker`: a store of a SQLite file runs on one dedicated
  thread per file (``BEGIN IMMEDIATE`` and the busy retries as in the sync API);
* :mod:`~aragora_storage_core.aio.bridge`: a store of a network backend runs in a
  greenlet against the backend's async driver; each driver call is awaited on the event
  loop, so the loop never blocks (a call of keyed reads only runs in direct passes,
  without a greenlet).

:mod:`~aragora_storage_core.aio.twins` makes a store method of simple reads or one
transaction (SQL), or of one command (Redis), into a coroutine compiled from its own
source, where the backend names its calls' coroutine twins: no runner at all.

Nothing here is imported until the async API is used; ``greenlet`` is the ``async``
extra of the core.
"""
