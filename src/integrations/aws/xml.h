#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Just enough XML for AWS's REST-XML responses (S3 listings, multipart results, errors):
// flat element lookup by name, entity decoding. No DTDs, no namespaces prefixes.
namespace studio::aws::xml {

// Inner text of each <tag>…</tag> (or <tag/>) in `doc`, in document order, still escaped.
std::vector<std::string_view> FindAll(std::string_view doc, std::string_view tag);
// The decoded text of the first <tag> element, or nullopt when there is none.
std::optional<std::string> FindText(std::string_view doc, std::string_view tag);
// Decodes &amp; &lt; &gt; &quot; &apos; and numeric references (&#NN; &#xNN;).
std::string Unescape(std::string_view text);
std::string Escape(std::string_view text);

}  // namespace studio::aws::xml
