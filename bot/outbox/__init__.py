"""The outbox: every message that leaves Tocsin is a row here, and one deliverer sends them all.

store       `bot.store.tables`: `OutboxMessage`, its `MessageKind`s and the one definition of
            its `MessageState` machine
enqueue.py  queue a message once (dedupe keys for briefings, digests, roll-ups, escalations)
policy.py   pure: what happens to a message now (restricted, blocked, muted, digest, flood
            guard, pace) — the one place those rules live
views.py    what an alert and its story show, read from the store
compose.py  a row → the Slack messages (parts) it sends, and where
deliverer.py claim → decide → record intent → send one part → record the answer
rollup.py   the flood guard's hourly roll-ups of held alerts
loop.py     the thread that keeps the outbox drained in `tocsin run`
"""
