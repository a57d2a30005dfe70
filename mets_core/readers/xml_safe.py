"""Safe XML parsing for the XML ECG formats (GE MUSE, Philips, HL7 aECG), and the helpers they share.

defusedxml over the standard library's expat: entity declarations (billion laughs, quadratic blow-up)
and external entities or DTDs (XXE, network fetches) are refused before anything is expanded or fetched.
A DOCTYPE that only names an external DTD (GE MUSE writes ``<!DOCTYPE RestingECG SYSTEM "restecg.dtd">``)
is allowed: expat never loads it. Namespaces are removed from tag and attribute names so that the
readers match local names (``{urn:hl7-org:v3}sequence`` -> ``sequence``). A document in UTF-16 with its
byte-order mark (as Windows tools write) is read like a UTF-8 one: expat decodes it, under the same refusals;
``root_name`` and ``looks_like_xml`` decode its first bytes to find the root.
"""
from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as _stdlib_et

import numpy as np

from ..ecg import ECGReadError

_ROOT = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
_SNIFF_BYTES = 65536


def _head_as_utf8(data: bytes) -> bytes:
    """The first bytes of a document as UTF-8 where it starts with a UTF-16 byte-order mark (exports from
    Windows tools; expat reads such documents as they are), else as they are (ASCII-compatible encodings)."""
    encoding = _UTF16_BOMS.get(data[:2])
    if encoding is None:
        return data[:_SNIFF_BYTES]
    head = data[2:2 + 2 * _SNIFF_BYTES]
    return head[: len(head) // 2 * 2].decode(encoding, errors="replace").encode("utf-8")


def looks_like_xml(data: bytes) -> bool:
    """True if the document's first non-blank character is '<' (after a UTF-8 or UTF-16 byte-order mark)."""
    return _head_as_utf8(data[:4096]).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def root_name(data: bytes) -> str | None:
    """The local name of the first element of an XML document (looked up without parsing it); UTF-8 and
    other ASCII-compatible encodings, and UTF-16 with its byte-order mark."""
    body = re.sub(rb"<!--.*?-->", b"", _head_as_utf8(data), flags=re.S)
    # <?xml ...?> and <!DOCTYPE ...> never match: the pattern needs a letter right after '<'
    m = _ROOT.search(body)
    return m.group(1).decode("ascii", "replace").split(":")[-1] if m else None


def parse(data: bytes, where: str, root: str | None = None) -> _stdlib_et.Element:
    """The document's root element, namespaces removed; ``root``: the local name it must have."""
    document = _parse_safely(data, where)
    for el in document.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.rsplit("}", 1)[1]
        if any("}" in k for k in el.attrib):
            el.attrib = {k.rsplit("}", 1)[-1]: v for k, v in el.attrib.items()}
    if root is not None and document.tag != root:
        raise ECGReadError(f"{where}: the root element is <{document.tag}>, not <{root}>")
    return document


def _parse_safely(source: bytes | str, where: str) -> _stdlib_et.Element:
    import defusedxml.ElementTree as safe_et
    from defusedxml import DefusedXmlException
    try:
        return safe_et.fromstring(source, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as e:
        raise ECGReadError(f"{where} declares XML entities or external references ({type(e).__name__}), which "
                           f"are refused for safety; ECG XML exports do not need them") from None
    except _stdlib_et.ParseError as e:
        raise ECGReadError(f"{where} is not well-formed XML ({e}); the file may be truncated or damaged") from None
    except (ValueError, RecursionError) as e:
        # expat decodes UTF-8, UTF-16 and single-byte encodings itself, but refuses every multi-byte one
        # (Shift_JIS, GB2312, EUC-KR, Big5: exports of carts set up in East Asian languages) with a ValueError:
        # Python's codec decodes the document, and the text is parsed under the same refusals
        text = _declared_text(source, where) if isinstance(e, ValueError) and isinstance(source, bytes) else None
        if text is not None:
            return _parse_safely(text, where)
        raise ECGReadError(f"{where} could not be parsed as XML ({type(e).__name__})") from None
    except LookupError:               # expat asks Python's codecs for an encoding it does not know itself
        raise _unknown_encoding(where, _declared_name(source)) from None


# the encoding an XML declaration names: <?xml version="1.0" encoding="Shift_JIS"?>
_DECLARED_ENCODING = re.compile(rb"""\A\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([A-Za-z][\w.:-]*)["']""")


def _declared_name(source: bytes | str) -> str | None:
    """The encoding the document's XML declaration names, or None."""
    declared = _DECLARED_ENCODING.match(source if isinstance(source, bytes) else source.encode("utf-8", "replace"))
    return declared.group(1).decode("ascii") if declared else None


def _unknown_encoding(where: str, name: str | None) -> ECGReadError:
    return ECGReadError(f"{where} declares a text encoding ({name!r}) this reader does not know; export the file "
                        f"again, saved as UTF-8")


def _declared_text(data: bytes, where: str) -> str | None:
    """The document decoded by the encoding its XML declaration names; None when it names none."""
    name = _declared_name(data)
    if name is None:
        return None
    try:
        return data.decode(name)
    except LookupError:
        raise _unknown_encoding(where, name) from None
    except UnicodeDecodeError as e:
        raise ECGReadError(f"{where} is not in the text encoding it declares ({name}): byte {e.start:,} cannot "
                           f"be decoded as {name}; the file is damaged, or was converted without changing its "
                           f"declaration: export it again, saved as UTF-8") from None


def text(el, path: str) -> str | None:
    """Stripped text of the first element at ``path`` under ``el``, or None."""
    found = el.find(path)
    return found.text.strip() if found is not None and found.text is not None else None


def b64decode(text: str | None, where: str) -> bytes:
    """Strict base64 (whitespace allowed): a truncated or damaged block is an error, never half-read."""
    if text is None or not text.strip():
        raise ECGReadError(f"{where} holds no waveform data")
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ECGReadError(f"{where}: the base64 waveform data are damaged or truncated ({e}); "
                           f"export the file again") from None


def number(text: str | None, what: str, where: str) -> float:
    try:
        value = float(str(text).strip())
    except (TypeError, ValueError):
        raise ECGReadError(f"{where}: {what} is {text!r}, which is not a number") from None
    if not np.isfinite(value):
        raise ECGReadError(f"{where}: {what} is {text!r}, which is not a finite number")
    return value


def integer(text: str | None, what: str, where: str, low: int, high: int) -> int:
    """A count written in the file: a whole number from ``low`` to ``high`` (a fraction or an out-of-range
    count is refused, never truncated or clipped)."""
    value = number(text, what, where)
    if not value.is_integer():
        raise ECGReadError(f"{where}: {what} is {value:g}, not a whole number; the file is damaged")
    if not low <= value <= high:
        raise ECGReadError(f"{where}: {what} is {value:g}; accepted: {low:,} to {high:,}")
    return int(value)


def stack(rows: list[np.ndarray]) -> np.ndarray:
    """Rows of possibly different lengths as one array, shorter rows padded with NaN (missing samples: the
    one missing-sample rule of ``channels.fill_missing`` then applies)."""
    n = max(len(r) for r in rows)
    out = np.full((len(rows), n), np.nan)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out
