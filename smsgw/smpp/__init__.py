"""The gateway's own SMPP 3.4 PDU codec (aiosmpplib's inbound decoding is defective: see NOTES.md)."""
