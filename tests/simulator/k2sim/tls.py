"""A throw-away CA and a server certificate for 127.0.0.1 / localhost / ::1 (made with trustme)."""

import os
import ssl

import trustme


class TlsFiles:
    def __init__(self, folder):
        self.folder = folder
        self.ca_path = os.path.join(folder, "ca.pem")
        self.cert_path = os.path.join(folder, "server.pem")  # certificate chain then private key

    def server_context(self):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path)
        return context


def make_tls_files(folder):
    os.makedirs(folder, exist_ok=True)
    ca = trustme.CA(organization_name="k2sim test CA")
    leaf = ca.issue_cert("127.0.0.1", "localhost", "::1", common_name="k2sim")
    files = TlsFiles(folder)
    ca.cert_pem.write_to_path(files.ca_path)
    with open(files.cert_path, "wb") as handle:
        for blob in leaf.cert_chain_pems:
            handle.write(blob.bytes())
        handle.write(leaf.private_key_pem.bytes())
    os.chmod(files.cert_path, 0o600)
    return files
