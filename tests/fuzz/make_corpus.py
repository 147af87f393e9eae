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


def dispatch_seeds() -> dict[str, bytes]:
    """Seeds of tests/fuzz/fuzz_dispatch.py (see its input layout)."""
    server_key = b"\xc0\x00\xc0\x00"  # masks b"\xc3\x28" into ASCII: b"\x03\x28"

    def flags(client: bool, structured: bool = True, size: int = 14, eof: bool = False,
              lost: bool = False, drop: int = 0) -> bytes:
        # size: index into MAX_SIZES (14: 1 MiB, 13: 65536, 10: 4000, 2: 1, 1: 0, 0: None)
        first = client | structured << 1 | eof << 2 | lost << 3 | size << 4
        return bytes([first, drop])

    def replies(*specs: tuple[int, int, int]) -> bytes:
        # (after message #, kind, size byte); message 15: after the reads
        pairs = (bytes([at | kind << 4, size]) for at, kind, size in specs)
        return bytes([len(specs)]) + b"".join(pairs)

    def spec(role: str, kind: int, first: int, length: int, params: bytes = b"", *,
             wrong_mask: bool = False, encoding: int = 0, repeat: int | None = None,
             key: bytes = KEY) -> bytes:
        out = bytes([kind | wrong_mask << 3 | encoding << 4 | (repeat is not None) << 7])
        if repeat is not None:
            out += bytes([repeat])
        out += bytes([first])
        if length < 126:
            out += bytes([length])
        elif length < 65536:
            out += bytes([126]) + struct.pack("<H", length)
        else:  # BIG_LENGTHS: 65536 is index 1, 1 MiB index 10, 65537 index 2
            out += bytes([127, {65536: 1, 65537: 2, 1 << 20: 10, (1 << 20) + 1: 11}[length]])
        masked = (role == "server") != wrong_mask
        return out + params + (key if masked else b"")

    def raw_bytes(data: bytes) -> bytes:
        return bytes([0x40, len(data)]) + data

    def mix(role: str) -> bytes:
        return (
            spec(role, 1, 0x81, 5, b"\x00")  # ASCII text
            + spec(role, 0, 0x82, 3, b"\x03\x00\x01\xff")  # binary (the Recorder's extras)
            + spec(role, 1, 0x89, 4, b"\x07")  # ping
            + spec(role, 2, 0x81, 126, b"\x01")  # non-ASCII text, 16-bit length
            + spec(role, 0, 0x82, 125, b"\x02ab")
            + spec(role, 2, 0x81, 16384, b"\x02")
            + spec(role, 0, 0x82, 65536, b"\x01z")  # 64-bit length
            + spec(role, 1, 0x8A, 0, b"\x00")  # pong
            + spec(role, 7, 0x82, 0)
        )

    seeds = {}
    for role in ("server", "client"):
        client = role == "client"
        hello = b"\x81\x85" + KEY + xor(b"Hello", KEY) if not client else b"\x81\x05Hello"
        seeds[f"{role}-raw-hello"] = flags(client, structured=False) + cuts() + replies() + hello
        seeds[f"{role}-raw-hello-split"] = (
            flags(client, structured=False) + cuts(1, 2, 3, 7) + replies((0, 0, 3)) + hello * 3
        )
        seeds[f"{role}-mix"] = flags(client) + cuts() + replies() + mix(role)
        seeds[f"{role}-mix-split"] = (
            flags(client) + cuts(1, 9, 10, 200, 17000, 30000) + replies() + mix(role)
        )
        seeds[f"{role}-replies"] = (
            flags(client)
            + cuts()
            + replies((0, 0, 3), (0, 1, 4), (1, 2, 8), (1, 3, 9), (2, 4, 5), (2, 6, 7),
                      (15, 1, 0x19), (15, 10, 13))
            + spec(role, 1, 0x81, 2, b"\x00")
            + spec(role, 0, 0x82, 2, b"\x01\x00")
            + spec(role, 2, 0x81, 1000, b"\x00")
        )
        seeds[f"{role}-replies-16k"] = (
            flags(client)
            + cuts(40)
            + replies((0, 1, 7), (0, 1, 8), (0, 1, 0x18), (0, 7, 9), (1, 5, 8), (1, 9, 6),
                      (1, 11, 0), (15, 2, 9))
            + spec(role, 1, 0x81, 16383, b"\x00")
            + spec(role, 2, 0x81, 16385, b"\x00")
        )
        seeds[f"{role}-bad-utf8"] = (
            flags(client)
            + cuts()
            + replies()
            + spec(role, 1, 0x81, 5, b"\x00")
            + spec(role, 4, 0x81, 40, b"\x85")
            + spec(role, 1, 0x81, 5, b"\x00")
        )
        seeds[f"{role}-bad-utf8-ascii-on-wire"] = (
            flags(client)
            + cuts()
            + replies()
            + spec(role, 1, 0x82, 3, b"\x00")
            + spec(role, 0, 0x81, 4, b"\x02\xc3\x28", key=server_key)
        )
        seeds[f"{role}-truncated-utf8"] = (
            flags(client) + cuts() + replies() + spec(role, 3, 0x81, 30, b"\x01")
        )
        seeds[f"{role}-wrong-mask"] = (
            flags(client)
            + cuts()
            + replies()
            + spec(role, 1, 0x81, 5, b"\x00")
            + spec(role, 1, 0x82, 5, b"\x00", wrong_mask=True)
        )
        seeds[f"{role}-fragments"] = (
            flags(client)
            + cuts(5)
            + replies((1, 0, 3))
            + spec(role, 1, 0x01, 3, b"\x00")
            + spec(role, 1, 0x89, 1, b"\x00")  # a ping between fragments
            + spec(role, 2, 0x80, 7, b"\x00")
            + spec(role, 1, 0x81, 3, b"\x00")
            + spec(role, 0, 0x02, 3, b"\x01x")  # never finished
            + spec(role, 1, 0x81, 3, b"\x00")
        )
        seeds[f"{role}-close"] = (
            flags(client)
            + cuts()
            + replies((15, 0, 3))
            + spec(role, 1, 0x81, 5, b"\x00")
            + spec(role, 6, 0x88, 5, b"\x00")  # 1000 "bye"
            + spec(role, 1, 0x81, 5, b"\x00")
        )
        seeds[f"{role}-close-bad"] = (
            flags(client) + cuts() + replies() + spec(role, 6, 0x88, 3, b"\x27")  # 999, bad UTF-8
        )
        seeds[f"{role}-cues"] = (
            flags(client)
            + cuts()
            + replies((1, 0, 3))
            + spec(role, 1, 0x81, 5, b"\x00")
            + spec(role, 5, 0x82, 1)  # raise!
            + spec(role, 1, 0x81, 5, b"\x00")
            + spec(role, 5, 0x81, 0)  # close!
            + spec(role, 1, 0x81, 5, b"\x00")
        )
        seeds[f"{role}-tiny-max-size"] = (
            flags(client, size=2)  # max_size 1
            + cuts()
            + replies()
            + spec(role, 7, 0x82, 0)
            + spec(role, 1, 0x81, 1, b"\x00")
            + spec(role, 7, 0x82, 1)
            + spec(role, 1, 0x81, 2, b"\x00")
        )
        seeds[f"{role}-max-size-0"] = (
            flags(client, size=1)
            + cuts()
            + replies()
            + spec(role, 7, 0x81, 0)
            + spec(role, 7, 0x82, 1)
        )
        seeds[f"{role}-at-limit-65536"] = (
            flags(client, size=13)
            + cuts(3, 40000)
            + replies()
            + spec(role, 0, 0x82, 65536, b"\x02ab")
            + spec(role, 0, 0x82, 65537, b"\x02ab")
        )
        seeds[f"{role}-non-minimal-lengths"] = (
            flags(client)
            + cuts()
            + replies()
            + spec(role, 1, 0x81, 5, b"\x00", encoding=1)
            + spec(role, 1, 0x82, 125, b"\x00", encoding=2)
            + spec(role, 1, 0x81, 4, b"\x00", encoding=3)  # most significant bit set
        )
        seeds[f"{role}-reserved"] = (
            flags(client)
            + cuts()
            + replies()
            + spec(role, 1, 0x81, 2, b"\x00")
            + spec(role, 1, 0xC1, 2, b"\x00")  # RSV1
            + spec(role, 1, 0x83, 2, b"\x00")  # opcode 3
        )
        seeds[f"{role}-many"] = (
            flags(client)
            + cuts(100, 101, 1000)
            + replies()
            + spec(role, 1, 0x81, 7, b"\x00", repeat=63)
            + spec(role, 0, 0x82, 9, b"\x01\x00", repeat=63)
        )
        seeds[f"{role}-partial-then-eof"] = (
            flags(client, eof=True, lost=True, drop=3)
            + cuts()
            + replies((15, 0, 3))
            + spec(role, 1, 0x81, 5, b"\x00")
            + spec(role, 1, 0x81, 200, b"\x00")
        )
        seeds[f"{role}-raw-between"] = (
            flags(client)
            + cuts()
            + replies()
            + spec(role, 1, 0x81, 5, b"\x00")
            + raw_bytes(b"\x81")
            + spec(role, 1, 0x81, 5, b"\x00")
        )
    seeds["server-1mib"] = (
        flags(False, size=14)
        + cuts(10000, 20000, 30000)
        + replies()
        + spec("server", 0, 0x82, 1 << 20, b"\x01q")
        + spec("server", 0, 0x82, (1 << 20) + 1, b"\x01q")
    )
    return seeds


def main() -> None:
    for kernel, seeds in (
        ("frames", frames_seeds()),
        ("http", http_seeds()),
        ("utf8", utf8_seeds()),
        ("mask", mask_seeds()),
        ("accept", accept_seeds()),
        ("close", close_seeds()),
        ("dispatch", dispatch_seeds()),
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
