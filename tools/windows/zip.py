"""tools/windows/zip.py ZIP DIR SRC: the zip a LOVE game (or any LuaJIT host
on Windows) unpacks next to its main.lua or its executable: openai/core.dll,
openai/wire.dll and cjson.dll from DIR (built against lua51.dll), the
module's Lua files, README.txt, and the licences of the code linked into the
DLLs (curl's and lua-cjson's, from the sources in SRC; zlib's asks for none
in binaries). Everything under openai-lua/ in the zip.
"""
import os
import sys
import zipfile

TOP = "openai-lua"


def lua_files():
    """(path on disk, path in the zip) of every Lua file of the module"""
    yield "lua/openai.lua", "openai.lua"
    for name in sorted(os.listdir("lua/openai")):
        if name.endswith(".lua"):
            yield os.path.join("lua/openai", name), "openai/" + name


def main(out, dlls, src):
    entries = list(lua_files())
    for rel in ("openai/core.dll", "openai/wire.dll", "cjson.dll"):
        entries.append((os.path.join(dlls, rel), rel))
    entries.append(("tools/windows/README-zip.txt", "README.txt"))
    entries.append((os.path.join(src, "curl/COPYING"), "licenses/curl.txt"))
    entries.append((os.path.join(src, "lua-cjson/LICENSE"), "licenses/lua-cjson.txt"))
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for src, dst in entries:
            z.write(src, TOP + "/" + dst)
    os.replace(tmp, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
