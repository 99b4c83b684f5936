"""A real SMTP server on loopback for the black-box suite (aiosmtpd).

Usage: python smtp_sink.py PORT FILE
Appends one line per accepted message to FILE: its Message-ID, a tab, its recipients.
Prints "ready" once it listens; runs until killed.
"""
import sys
import time

from aiosmtpd.controller import Controller
from email.parser import BytesHeaderParser


class Sink:
    def __init__(self, path):
        self.path = path

    async def handle_DATA(self, server, session, envelope):
        headers = BytesHeaderParser().parsebytes(envelope.content)
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(f"{headers.get('Message-ID', '')}\t{','.join(envelope.rcpt_tos)}\n")
            out.flush()
        return "250 OK"


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(path), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
