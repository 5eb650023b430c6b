"""The SMPP edge: the aiosmpplib ESME, inbound MOs and receipts, the outbox sender, the scheduler."""
