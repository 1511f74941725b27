"""The emulator's services, shared by every provider (no Flask request state): the runtime, the state store,
accounts and ledger, bill, journal, faults, clock, scheduler, webhooks, files, images, latency, logs."""
