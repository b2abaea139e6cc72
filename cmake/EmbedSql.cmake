# Generates a .cc holding every numbered migration of one dialect as a string.
# Invoked in script mode: cmake -DDIR=... -DOUT=... -DFUNC=... -P EmbedSql.cmake
file(GLOB files "${DIR}/*.sql")
list(SORT files)
set(body "")
foreach(f ${files})
  get_filename_component(name ${f} NAME_WE)
  string(REGEX MATCH "^[0-9]+" num ${name})
  math(EXPR version "${num}")
  file(READ ${f} sql)
  string(APPEND body "    {${version}, \"${name}\", R\"studio_sql(${sql})studio_sql\"},\n")
endforeach()
file(WRITE ${OUT}.tmp "// Generated from ${DIR} by cmake/EmbedSql.cmake. Do not edit.\n#include \"store/internal/dialect.h\"\nnamespace studio::store {\nconst std::vector<Migration>& ${FUNC}() {\n  static const std::vector<Migration> kMigrations = {\n${body}  };\n  return kMigrations;\n}\n}  // namespace studio::store\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
