"""Writes the seed corpora tests/fuzz/corpus/<kernel>/ from valid (and some invalid) inputs.

    python tests/fuzz/make_corpus.py

Each seed follows the input layout documented in its target
(tests/fuzz/fuzz_<kernel>.py); regenerate after changing a layout.  The
files are small and deterministic, so the generated tree is committed.
"""

from __future__ import annotations

import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = b"\x37\xfa\x21\x3d"  # RFC 6455 5.7


def cuts(*positions: int) -> bytes:
    return bytes([len(positions)]) + b"".join(struct.pack("<H", p) for p in positions)


def xor(data: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


def frames_seeds() -> dict[str, bytes]:
    hello_masked = b"\x81\x85" + KEY + xor(b"Hello", KEY)
    binary_256 = b"\x82\x7e\x01\x00" + bytes(range(256))
    seeds = {
        # raw mode; flags: bit 0 mask_expected, bits 1-3 allowed_rsv, 4-5 kind
        "rfc-text-unmasked": bytes([0x00, 0, 0]) + cuts() + b"\x81\x05Hello",
        "rfc-text-masked": bytes([0x01, 0, 0]) + cuts(3) + hello_masked,
        "rfc-fragments": bytes([0x10, 0, 5]) + cuts(2, 5, 6) + b"\x01\x03Hel\x80\x02lo",
        "rfc-ping-pong": bytes([0x21, 0, 3])
        + cuts(1, 7)
        + b"\x89\x85"
        + KEY
        + xor(b"Hello", KEY)
        + b"\x8a\x85"
        + KEY
        + xor(b"Hello", KEY),
        "binary-256-in-pieces": bytes([0xB0, 0, 9]) + cuts(1, 2, 3, 100, 259) + binary_256,
        "binary-256-growing": bytes([0xB0, 0, 0x49]) + cuts(1, 5, 70, 140, 259) + binary_256,
        "masked-256-growing-from-1": bytes([0xA1, 0, 0xC3])
        + cuts(9, 10, 11, 200)
        + b"\x82\xfe\x01\x00"
        + KEY
        + xor(bytes(range(256)), KEY),
        "rsv1-allowed": bytes([0x09, 0, 0]) + cuts() + b"\xc1\x85" + KEY + xor(b"Hello", KEY),
        "reserved-opcode": bytes([0x00, 0, 0]) + cuts() + b"\x81\x01a\x83\x00",
        "control-too-long": bytes([0x00, 0, 0]) + cuts() + b"\x89\x7e\x00\x7e" + b"x" * 126,
        "unmasked-from-client": bytes([0x01, 0, 0]) + cuts() + b"\x82\x00",
        "msb-set": bytes([0x00, 14, 0]) + cuts(4) + b"\x82\x7f\x80" + b"\x00" * 7,
        "announced-huge": bytes([0x00, 14, 0])
        + cuts(10)
        + b"\x82\x7f\x00\x00\x01"
        + b"\x00" * 5
        + b"abc",
        "over-limit": bytes([0x00, 4, 0]) + cuts() + b"\x82\x7e\x00\x7e",
        "64bit-length-in-pieces": bytes([0x30, 9, 1])
        + cuts(1, 9, 10, 4000)
        + b"\x82\x7f"
        + (65536).to_bytes(8, "big")
        + b"z" * 4096,
        # structured mode (bit 6): FIN/RSV/opcode byte, MASK|len7, [key], payload
        "structured-mixed": bytes([0x41, 11, 7])
        + cuts(3, 50, 51, 300)
        + b"\x01\x83"
        + KEY
        + b"abc"
        + b"\x89\x80"
        + KEY
        + b"\x80\xfe\x2c\x01"
        + KEY
        + bytes(range(64))
        + b"\x88\x82"
        + KEY
        + b"\x03\xe8",
        "structured-over-prealloc": bytes([0xC1, 11, 13])
        + cuts(2, 11, 4000, 40000, 65000, 65535)
        + b"\x82\xff\xc8\xf1"
        + KEY
        + bytes(range(7, 71)),
        "structured-unmasked-16bit": bytes([0x60, 0, 0])
        + cuts(2, 3, 4)
        + b"\x82\x7e\x00\x01"
        + b"q" * 64
        + b"\x02\x7e\xff\xff"
        + b"r",
    }
    return seeds


REQUEST = (
    b"GET /chat HTTP/1.1\r\n"
    b"Host: server.example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Origin: http://example.com\r\n"
    b"Sec-WebSocket-Protocol: chat, superchat\r\n"
    b'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-ext; a="b"\r\n'
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)
RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    b"Sec-WebSocket-Protocol: chat\r\n"
    b"\r\n"
)


def http_seeds() -> dict[str, bytes]:
    # byte 0: bit 0 response, bits 1-2 kind, bit 3 helpers; byte 1: 132 -> 16384
    # (128 + index 0... any value >= 128 with value % 6 == 0); byte 2: 200 -> 128
    default = bytes([132, 200, 0])
    return {
        "rfc-request": bytes([0x08]) + default + cuts(5, 60, len(REQUEST) - 1) + REQUEST,
        "rfc-response": bytes([0x09]) + default + cuts(40) + RESPONSE,
        "request-bytearray": bytes([0x0A]) + default + cuts() + REQUEST + b"\x81\x05Hello",
        "request-exact": bytes([0x0C]) + bytes([132, 200, 3]) + cuts() + REQUEST,
        "response-no-reason": bytes([0x01]) + default + cuts() + b"HTTP/1.1 101\r\nA: b\r\n\r\n",
        "response-obs-text": bytes([0x0F])
        + bytes([132, 200, 1])
        + cuts()
        + b"HTTP/1.0 400 B\xe4d R\xe9quest\r\nX-V: caf\xe9 \t\r\n\r\n",
        "request-leading-crlf": bytes([0x00])
        + default
        + cuts(2)
        + b"\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        "request-too-many-headers": bytes([0x00, 132, 2, 0]) + cuts() + REQUEST,
        "request-too-large": bytes([0x00, 60, 200, 0]) + cuts() + REQUEST,
        "request-bare-lf": bytes([0x00]) + default + cuts() + b"GET / HTTP/1.1\nHost: x\r\n\r\n",
        "request-obs-fold": bytes([0x00])
        + default
        + cuts()
        + b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",
        "request-many-headers": bytes([0x08])
        + default
        + cuts()
        + b"GET /x?y=z HTTP/1.1\r\n"
        + b"".join(b"H%d: v%d, upgrade\r\n" % (i, i) for i in range(45))
        + b"\r\n",
        "helpers-strings": bytes([0x10, 0, 0, 0])
        + cuts()
        + (
            "Connection: keep-alive, Upgrade\n"
            'Sec-WebSocket-Extensions: a; b="c", d\n'
            "k\u212aey: \u00e9\U0001f600, x"
        ).encode(),
    }


def utf8_seeds() -> dict[str, bytes]:
    text = "κόσμε héllo wörld € 𝄞 ascii".encode()
    seeds = {}
    for variant in range(4):
        seeds[f"valid-variant{variant}"] = (
            bytes([variant, 0x04, variant * 5]) + cuts(1, 3, 4, 9) + text
        )
        seeds[f"tiled-variant{variant}"] = (
            bytes([variant, 0x22 + (variant << 3), 1]) + cuts(63, 64, 65) + text
        )
    invalid = {
        "surrogate": b"ab\xed\xa0\x80cd",
        "above-max": b"\xf4\x90\x80\x80",
        "overlong": b"\xc0\xaf\xe0\x80\xaf",
        "truncated": b"euro \xe2\x82",
        "stray-continuation": b"x\x80y",
        "f5": b"\xf5\x80\x80\x80",
    }
    for name, data in invalid.items():
        seeds[f"invalid-{name}"] = bytes([3, 0x01, 0]) + cuts(1, 2, 3) + data
    seeds["long-ascii-then-4byte"] = (
        bytes([2, 0x3A, 7]) + cuts(65535, 30000) + b"a" * 61 + "𝄞".encode()
    )
    return seeds


def mask_seeds() -> dict[str, bytes]:
    seeds = {}
    for variant in range(4):
        for phase in range(4):
            flags = (phase << 2) | (variant & 3)
            seeds[f"rfc-hello-v{variant}-p{phase}"] = (
                bytes([variant, flags, variant * 3]) + KEY + cuts(1, 2) + b"Hello"
            )
        seeds[f"long-v{variant}"] = (
            bytes([variant, 0x02 | (5 << 5), 0x40 | variant])
            + b"\x01\x80\xfe\x7f"
            + cuts(3, 300)
            + bytes(range(256))
        )
    seeds["bad-key"] = bytes([0, 0, 0]) + b"\x01\x02\x03"
    seeds["bad-phase"] = bytes([1, 4 << 2, 0]) + KEY + cuts() + b"abcdefgh"
    return seeds


def accept_seeds() -> dict[str, bytes]:
    sample = b"dGhlIHNhbXBsZSBub25jZQ=="
    seeds = {}
    for variant in range(2):
        for kind in range(6):
            seeds[f"rfc-key-v{variant}-k{kind}"] = bytes([variant, kind, kind * 7]) + sample
    for length in (0, 19, 20, 27, 28, 64, 100):
        seeds[f"length-{length}"] = bytes([1, 0, 0]) + bytes(range(65, 65 + length))
    seeds["non-canonical"] = bytes([0, 4, 0]) + b"dGhlIHNhbXBsZSBub25jZR=="
    seeds["non-ascii"] = bytes([0, 4, 0]) + b"dGhlIHNhbXBsZSBub25jZ\xe9=="
    seeds["tiled"] = bytes([1, 0x38, 0]) + sample
    return seeds


def close_seeds() -> dict[str, bytes]:
    def build(code: int | None, reason: str, kind: int = 0) -> bytes:
        value = 1 << 31 if code is None else code + (1 << 30)
        return bytes([4 | kind, 0]) + struct.pack("<I", value) + reason.encode()

    return {
        "normal": bytes([0, 0]) + b"\x03\xe8",
        "normal-reason": bytes([1, 3]) + b"\x03\xe8bye",
        "unicode-reason": bytes([2, 9]) + b"\x0f\xa0" + "ünïcødé 𝄞".encode(),
        "empty": bytes([3, 0]),
        "one-byte": bytes([0, 0]) + b"\x03",
        "code-1005": bytes([0, 0]) + b"\x03\xed",
        "code-2999": bytes([0, 0]) + b"\x0b\xb7",
        "bad-utf8": bytes([2, 1]) + b"\x03\xe8\xff",
        "build-normal": build(1000, "bye"),
        "build-none": build(None, ""),
        "build-none-reason": build(None, "x"),
        "build-invalid": build(1006, ""),
        "build-long": build(4999, "é" * 62, kind=2),
    }


def main() -> None:
    for kernel, seeds in (
        ("frames", frames_seeds()),
        ("http", http_seeds()),
        ("utf8", utf8_seeds()),
        ("mask", mask_seeds()),
        ("accept", accept_seeds()),
        ("close", close_seeds()),
    ):
        directory = os.path.join(HERE, "corpus", kernel)
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
        for name, data in seeds.items():
            with open(os.path.join(directory, name), "wb") as f:
                f.write(data)
        print(f"{kernel}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
