#pragma once

#include <string>

#include "common/status.h"

namespace httplib {
class Server;
}

namespace studio::api {

// The web console (frontend/dist) served at `/` by `studio serve` (docs/ui.md).

// Where the built console is: `configured` when set ("none" or "off" disables it; a directory
// without index.html is an error), else the first `frontend/dist`, `ui` or `share/studio/ui`
// holding an index.html found walking up from the directory of the running binary. Returns ""
// when there is none (the server then runs without the console).
Result<std::string> FindUiDir(const std::string& configured);

// Maps a decoded URL path to a regular file under `root` (an absolute, canonical directory).
// Refuses (INVALID_ARGUMENT) backslashes, NUL and control characters, `.`/`..` segments and
// anything that resolves outside `root` (symlinks included); NOT_FOUND when no such file.
Result<std::string> ResolveUiFile(const std::string& root, const std::string& url_path);

// The Content-Type for a file name, by extension.
std::string UiContentType(const std::string& file_name);

// GET/HEAD handlers for every path outside the API prefixes (/api/, /ajax-api/, /metrics,
// /healthz, /readyz): the file when it exists; else index.html for page navigations (Accept
// has text/html: the SPA fallback), and the usual JSON 404 for other clients and for missing
// files under /assets/. `/` without text/html in Accept stays the JSON service index. Hashed
// /assets/ files are cached for a year (immutable), the rest revalidated (no-cache). Register
// before the API routes.
void RegisterStaticUi(httplib::Server& http, const std::string& ui_dir);

}  // namespace studio::api
