"""Imports every pinned vendor client and prints their versions, one JSON line."""
import json
from importlib.metadata import version

import alpine  # noqa: F401  (Chorus / Alpine Web API Client)
import clc  # noqa: F401  (CenturyLink clc-sdk)
import huaweicloudsdkcore  # noqa: F401
import huaweicloudsdkdgc  # noqa: F401  (DataArts Factory, DGC v1)

print(json.dumps({name: version(name) for name in
                  ["alpine", "clc-sdk", "huaweicloudsdkcore", "huaweicloudsdkdgc"]}))
