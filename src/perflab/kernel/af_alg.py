"""AF_ALG: run one kernel crypto operation from user space through Python's socket module.

socket(AF_ALG, SOCK_SEQPACKET) → bind((type, name)) → setsockopt(key) → accept() gives an operation
socket; data goes in with sendmsg (ALG_SET_OP/IV/AEAD_ASSOCLEN as control messages) and the result is
read back with recv. Binding a *driver* name (``sha256-generic``) instead of an algorithm name
(``sha256``) selects that implementation, which is how generic and accelerated code are compared.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import dataclass

# Which interface each algorithm needs, and the Kconfig symbol providing that interface.
HASH = "hash"
SKCIPHER = "skcipher"
AEAD = "aead"
USER_API_SYMBOL = {HASH: "CRYPTO_USER_API_HASH", SKCIPHER: "CRYPTO_USER_API_SKCIPHER",
                   AEAD: "CRYPTO_USER_API_AEAD"}

AES_KEY_BYTES = {"xts(aes)": 64, "cbc(aes)": 32, "gcm(aes)": 32}  # AES-256 (XTS takes two keys)
IV_BYTES = {"xts(aes)": 16, "cbc(aes)": 16, "gcm(aes)": 12}
DIGEST_BYTES = {"sha1": 20, "sha256": 32, "sha512": 64, "crc32c": 4}
GCM_TAG_BYTES = 16
BLOCK_BYTES = {"xts(aes)": 16, "cbc(aes)": 16}  # XTS needs ≥ 16 bytes, CBC whole blocks


class AfAlgError(Exception):
    """An AF_ALG step failed; ``step`` says which (socket, bind, setkey, accept, operation)."""

    def __init__(self, step: str, error: OSError, target: str = "") -> None:
        self.step = step
        self.errno = error.errno
        self.strerror = error.strerror or str(error)
        self.target = target
        name = errno.errorcode.get(error.errno or 0, str(error.errno))
        where = f" {target}" if target else ""
        super().__init__(f"{step}{where} failed: {name} ({self.strerror})")


def interface_of(algorithm: str) -> str:
    if algorithm in DIGEST_BYTES:
        return HASH
    if algorithm.startswith("gcm("):
        return AEAD
    return SKCIPHER


def open_socket() -> socket.socket:
    """The AF_ALG listening socket; raises AfAlgError (EAFNOSUPPORT when the kernel lacks AF_ALG)."""
    try:
        return socket.socket(socket.AF_ALG, socket.SOCK_SEQPACKET, 0)
    except OSError as error:
        raise AfAlgError("socket(AF_ALG, SOCK_SEQPACKET)", error) from error


def probe() -> AfAlgError | None:
    """None when AF_ALG sockets can be created, else the error that prevents it."""
    try:
        open_socket().close()
    except AfAlgError as error:
        return error
    return None


@dataclass
class Operation:
    """A bound, keyed and accepted AF_ALG transform, ready to process buffers of ``size`` bytes."""

    algorithm: str  # algorithm name, for sizes and IVs
    name: str  # what was bound: the algorithm or a driver name
    interface: str
    listener: socket.socket
    op: socket.socket

    def run(self, data: bytes) -> bytes:
        """One complete operation on ``data`` (hash: digest; cipher: ciphertext; aead: ct+tag)."""
        try:
            if self.interface == HASH:
                sent = self.op.send(data)  # no MSG_MORE: the kernel finalises after this buffer
                if sent != len(data):
                    raise OSError(errno.EIO, f"short send {sent} of {len(data)} bytes")
                return self.op.recv(DIGEST_BYTES[self.algorithm])
            iv = bytes(IV_BYTES[self.algorithm])
            if self.interface == AEAD:
                self.op.sendmsg_afalg([data], op=socket.ALG_OP_ENCRYPT, iv=iv, assoclen=0)
                return self.op.recv(len(data) + GCM_TAG_BYTES)
            self.op.sendmsg_afalg([data], op=socket.ALG_OP_ENCRYPT, iv=iv)
            return self.op.recv(len(data))
        except OSError as error:
            raise AfAlgError("operation", error, self.name) from error

    def close(self) -> None:
        self.op.close()
        self.listener.close()

    def __enter__(self) -> Operation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_operation(algorithm: str, name: str | None = None) -> Operation:
    """Bind ``name`` (default: the algorithm, i.e. the kernel's choice) and make it ready to run."""
    name = name or algorithm
    interface = interface_of(algorithm)
    listener = open_socket()
    try:
        try:
            listener.bind((interface, name))
        except OSError as error:
            raise AfAlgError("bind", error, f"({interface}, {name})") from error
        key_bytes = AES_KEY_BYTES.get(algorithm)
        if key_bytes:
            # A random key rather than zeros: XTS rejects identical key halves in FIPS mode.
            key = os.urandom(key_bytes)
            try:
                listener.setsockopt(socket.SOL_ALG, socket.ALG_SET_KEY, key)
            except OSError as error:
                raise AfAlgError("ALG_SET_KEY", error, name) from error
        if interface == AEAD:
            try:
                listener.setsockopt(socket.SOL_ALG, socket.ALG_SET_AEAD_AUTHSIZE, None, GCM_TAG_BYTES)
            except OSError as error:
                raise AfAlgError("ALG_SET_AEAD_AUTHSIZE", error, name) from error
        try:
            op, _ = listener.accept()
        except OSError as error:
            raise AfAlgError("accept", error, name) from error
    except BaseException:
        listener.close()
        raise
    return Operation(algorithm, name, interface, listener, op)
