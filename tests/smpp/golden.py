"""Golden PDUs typed by hand, octet by octet, from the field tables of SMPP 3.4 §4
(bind §4.1, outbind §4.1.7, generic_nack §4.3, submit_sm §4.4, deliver_sm §4.6, data_sm
§4.7, unbind §4.2, enquire_link §4.11) and the TLV formats of §5.3. None of these bytes
comes from the codec under test; lengths are counted by hand in the comments.
"""

from __future__ import annotations


def h(text: str) -> bytes:
    """Hex with spaces and newlines for readability."""
    return bytes.fromhex("".join(text.split()))


# bind_transmitter, seq 1: system_id "smsgw" (6), password "secret08" (9), system_type "" (1),
# interface_version 0x34, addr_ton 0, addr_npi 0 (3), address_range "" (1): body 20, total 36.
BIND_TRANSMITTER = h("00000024 00000002 00000000 00000001 736d736777 00 7365637265743038 00 00 34 00 00 00")
BIND_RECEIVER = h("00000024 00000001 00000000 00000001 736d736777 00 7365637265743038 00 00 34 00 00 00")
BIND_TRANSCEIVER = h("00000024 00000009 00000000 00000001 736d736777 00 7365637265743038 00 00 34 00 00 00")
# bind_transceiver_resp, seq 1: system_id "SMSC" (5), TLV sc_interface_version 0x0210 len 1 = 0x34 (5): total 26.
BIND_TRANSCEIVER_RESP = h("0000001a 80000009 00000000 00000001 534d534300 0210 0001 34")
# bind_transmitter_resp, seq 2: system_id "SMSC" only (an SMSC speaking 3.3): total 21.
BIND_TRANSMITTER_RESP = h("00000015 80000002 00000000 00000002 534d534300")
# bind_receiver_resp, seq 3, ESME_RINVPASWD, no body.
BIND_RECEIVER_RESP_REFUSED = h("00000010 80000001 0000000e 00000003")
# outbind, seq 4: system_id "SMSC" (5), password "pw" (3): total 24.
OUTBIND = h("00000018 0000000b 00000000 00000004 534d534300 707700")

# submit_sm, seq 2 — service_type "" (1); source_addr_ton 3, npi 0, source_addr "1643" (2 + 5);
# dest_addr_ton 1, npi 1, destination_addr "37129123456" (2 + 12); esm_class 0x40, protocol_id 0,
# priority_flag 1 (3); schedule_delivery_time "" (1); validity_period "000001000000000R" (17);
# registered_delivery 1, replace_if_present 0, data_coding 0, sm_default_msg_id 0, sm_length 8 (5);
# short_message: UDH 05 00 03 07 02 01 + "Hi" (8); TLV user_message_reference 0x0204 len 2 = 0x0001 (6).
# Body 1+7+14+3+1+17+5+8+6 = 62, total 78 = 0x4e.
SUBMIT_SM = h(
    "0000004e 00000004 00000000 00000002"
    "00"
    "03 00 3136343300"
    "01 01 333731323931323334353600"
    "40 00 01"
    "00"
    "30303030303130303030303030303052 00"
    "01 00 00 00 08"
    "050003070201 4869"
    "0204 0002 0001"
)
# submit_sm_resp, seq 2, message_id "1a2b" (5): total 21.
SUBMIT_SM_RESP = h("00000015 80000004 00000000 00000002 3161326200")
# submit_sm_resp, seq 5, ESME_RTHROTTLED, no body (SMPP 3.4 §4.4.2: no body on error).
SUBMIT_SM_RESP_THROTTLED = h("00000010 80000004 00000058 00000005")

# deliver_sm, seq 7: a receipt — service_type "" (1); source 1/1 "37129123456" (2 + 12);
# dest 3/0 "1643" (2 + 5); esm_class 0x04, protocol_id 0, priority 0 (3); two empty times (2);
# registered_delivery 0, replace 0, data_coding 0, default 0, sm_length 10 (5);
# short_message "id:1a2b s:" (10); TLVs receipted_message_id 0x001E len 5 "1a2b\0" (9),
# message_state 0x0427 len 1 = 2 DELIVRD (5). Body 1+14+7+3+2+5+10+9+5 = 56, total 72 = 0x48.
DELIVER_SM_RECEIPT = h(
    "00000048 00000005 00000000 00000007"
    "00"
    "01 01 333731323931323334353600"
    "03 00 3136343300"
    "04 00 00"
    "00 00"
    "00 00 00 00 0a"
    "69643a31613262 20733a"
    "001e 0005 3161326200"
    "0427 0001 02"
)
# deliver_sm_resp, seq 7: message_id unused, one NUL: total 17.
DELIVER_SM_RESP = h("00000011 80000005 00000000 00000007 00")
# data_sm, seq 9 — service_type "" (1); source 1/1 "37129123456" (14); dest 3/0 "1643" (7);
# esm_class 0, registered_delivery 0, data_coding 8 (3); TLV message_payload 0x0424 len 4
# = "HI" in UCS-2 (8). Body 33, total 49 = 0x31.
DATA_SM = h(
    "00000031 00000103 00000000 0000000900 01 01 333731323931323334353600 03 00 313634330000 00 080424 0004 00480049"
)
# data_sm_resp, seq 9: message_id "abc" (4): total 20.
DATA_SM_RESP = h("00000014 80000103 00000000 00000009 61626300")
GENERIC_NACK = h("00000010 80000000 00000003 0000000a")  # ESME_RINVCMDID for seq 10
ENQUIRE_LINK = h("00000010 00000015 00000000 0000000b")
ENQUIRE_LINK_RESP = h("00000010 80000015 00000000 0000000b")
UNBIND = h("00000010 00000006 00000000 0000000c")
UNBIND_RESP = h("00000010 80000006 00000000 0000000c")
# query_sm, seq 13 (not modelled: its body stays raw): message_id "1a2b", source 0/0 "" — total 24.
QUERY_SM = h("00000018 00000003 00000000 0000000d 3161326200 00 00 00")


def deliver_sm(short_message: str, data_coding: int, esm_class: int = 0, tlvs: str = "") -> bytes:
    """A deliver_sm, seq 1, from 1/1 "37129123456" to 3/0 "1643", around a hand-typed
    short_message (hex): the fixed fields are 1 + 14 + 7 + 3 + 2 + 5 = 32 octets."""
    message = h(short_message)
    extra = h(tlvs)
    length = 16 + 32 + len(message) + len(extra)
    return (
        h(
            f"{length:08x} 00000005 00000000 00000001"
            "00 01 01 333731323931323334353600 03 00 3136343300"
            f"{esm_class:02x} 00 00 00 00 00 00 {data_coding:02x} 00 {len(message):02x}"
        )
        + message
        + extra
    )
