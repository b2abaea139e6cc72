# Generates a .cc holding every numbered migration for one dialect as a string.
# Migration N is NNNN_name.sql (SQL both backends share) followed by NNNN_name.DIALECT.sql
# when that exists (what only one backend can say: triggers, functions).
# Invoked in script mode: cmake -DDIR=... -DDIALECT=sqlite|postgres -DOUT=... -DFUNC=... -P
file(GLOB files "${DIR}/[0-9]*.sql")
list(SORT files)
set(body "")
foreach(f ${files})
  get_filename_component(fname ${f} NAME)
  if(NOT fname MATCHES "^([0-9]+)_([a-z0-9_]+)\\.sql$")
    continue()  # a dialect-specific part; read with its shared file below
  endif()
  set(name "${CMAKE_MATCH_1}_${CMAKE_MATCH_2}")
  math(EXPR version "${CMAKE_MATCH_1}")
  file(READ ${f} sql)
  if(EXISTS "${DIR}/${name}.${DIALECT}.sql")
    file(READ "${DIR}/${name}.${DIALECT}.sql" extra)
    string(APPEND sql "\n${extra}")
  endif()
  string(APPEND body "    {${version}, \"${name}\", R\"studio_sql(${sql})studio_sql\"},\n")
endforeach()
file(WRITE ${OUT}.tmp "// Generated from ${DIR} by cmake/EmbedSql.cmake. Do not edit.\n#include \"store/internal/dialect.h\"\nnamespace studio::store {\nconst std::vector<Migration>& ${FUNC}() {\n  static const std::vector<Migration> kMigrations = {\n${body}  };\n  return kMigrations;\n}\n}  // namespace studio::store\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
