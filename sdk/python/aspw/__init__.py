"""aspw: the Python partner SDK of the Partner Worker Protocol (ASPW/1).

    from aspw import Partner
    p = Partner(endpoint, cert_file="P1.cert_secret", server_cert_file="routing.cert",
                capacity=5, skills=["water_heater"], regions=["north"],
                on_offer=lambda p, job: p.accept(job.wo_id),
                on_assigned=lambda p, job: ...)
    p.run()

Modules: proto (the codec), partner (the client), cert (zcert files),
certgen (python3 -m aspw.certgen). Needs Debian's python3-zmq and
python3-msgpack only. The protocol is docs/partner-protocol.md.
"""
from .cert import Cert, CertError
from .partner import (ACCEPTED, ACCEPTING, COMPLETING, DECLINING, DONE, OFFERED, RETURNING, Job,
                      Partner, PartnerError, UsageError)
from .proto import DecodeError, RESULTS, STAGES, UNABLE_REASONS

__all__ = ["Partner", "Job", "PartnerError", "UsageError", "DecodeError", "Cert", "CertError",
           "OFFERED", "ACCEPTING", "ACCEPTED", "DECLINING", "COMPLETING", "DONE", "RETURNING",
           "STAGES", "RESULTS", "UNABLE_REASONS"]
