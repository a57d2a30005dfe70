"""Safe XML parsing for the XML ECG formats.

defusedxml over the standard library's expat: entity declarations (billion laughs, quadratic blow-up)
and external entities or DTDs (XXE, network fetches) are refused before anything is expanded or fetched.
A DOCTYPE that only names an external DTD (GE MUSE writes ``<!DOCTYPE RestingECG SYSTEM "restecg.dtd">``)
is allowed: expat never loads it. Namespaces are removed from tag and attribute names so that the
readers match local names (``{urn:hl7-org:v3}sequence`` -> ``sequence``).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as _stdlib_et

from ..ecg import ECGReadError

_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")


def root_name(data: bytes) -> str | None:
    """The local name of the first element of an XML document (looked up without parsing it)."""
    body = re.sub(rb"<!--.*?-->", b"", data[:65536], flags=re.S)
    # <?xml ...?> and <!DOCTYPE ...> never match: the pattern needs a letter right after '<'
    m = _ROOT.search(body)
    return m.group(1).decode("ascii", "replace").split(":")[-1] if m else None


def parse(data: bytes, where: str) -> _stdlib_et.Element:
    import defusedxml.ElementTree as safe_et
    from defusedxml import DefusedXmlException
    try:
        root = safe_et.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as e:
        raise ECGReadError(f"{where} declares XML entities or external references ({type(e).__name__}), which "
                           f"are refused for safety; ECG XML exports do not need them") from None
    except _stdlib_et.ParseError as e:
        raise ECGReadError(f"{where} is not well-formed XML ({e}); the file may be truncated or damaged") from None
    except (ValueError, RecursionError) as e:
        raise ECGReadError(f"{where} could not be parsed as XML ({type(e).__name__})") from None
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.rsplit("}", 1)[1]
        if any("}" in k for k in el.attrib):
            el.attrib = {k.rsplit("}", 1)[-1]: v for k, v in el.attrib.items()}
    return root


def text(el, path: str) -> str | None:
    """Stripped text of the first element at ``path`` under ``el``, or None."""
    found = el.find(path)
    return found.text.strip() if found is not None and found.text is not None else None
