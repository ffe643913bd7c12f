# gyre_embed_assets(): the one way web files get into the binary (admin UI, Swagger UI).
#
#   gyre_embed_assets(<target> NAME <bundle>
#                     [DIR <directory>]          # every file under it, by relative path
#                     [FILES <file>...]          # more files, each by its base name
#                     [DEPENDS <targets/files>...])
#
# Creates the static library <target>. Its generated source holds the bytes, content types,
# ETags and the sorted path table; code reads it through the generated header
# "web/embedded/<bundle>.hpp" (gyre::web::embedded::<bundle>(), an asset_bundle). DIR is
# listed at configure time (CONFIGURE_DEPENDS: an added file re-runs CMake); FILES may be
# outputs of another build step (e.g. an npm install), named in DEPENDS.
function(gyre_embed_assets target)
  cmake_parse_arguments(E "" "NAME;DIR" "FILES;DEPENDS" ${ARGN})
  if(NOT E_NAME)
    message(FATAL_ERROR "gyre_embed_assets(${target}): NAME is required")
  endif()
  set(args "")
  set(inputs "")
  if(E_DIR)
    file(GLOB_RECURSE dir_files CONFIGURE_DEPENDS LIST_DIRECTORIES false "${E_DIR}/*")
    list(SORT dir_files)
    foreach(f IN LISTS dir_files)
      file(RELATIVE_PATH rel "${E_DIR}" "${f}")
      list(APPEND args "/${rel}=${f}")
      list(APPEND inputs "${f}")
    endforeach()
  endif()
  foreach(f IN LISTS E_FILES)
    get_filename_component(base "${f}" NAME)
    list(APPEND args "/${base}=${f}")
    list(APPEND inputs "${f}")
  endforeach()
  set(gen_dir "${CMAKE_CURRENT_BINARY_DIR}/embedded_${E_NAME}")
  set(out_cpp "${gen_dir}/${E_NAME}.cpp")
  set(out_hpp "${gen_dir}/web/embedded/${E_NAME}.hpp")
  file(MAKE_DIRECTORY "${gen_dir}/web/embedded")
  add_custom_command(
    OUTPUT "${out_cpp}" "${out_hpp}"
    COMMAND gyre_embed "${E_NAME}" "${out_cpp}" "${out_hpp}" ${args}
    DEPENDS gyre_embed ${inputs} ${E_DEPENDS}
    COMMENT "Embedding web bundle ${E_NAME}"
    VERBATIM)
  add_library(${target} STATIC "${out_cpp}" "${out_hpp}")
  target_include_directories(${target} PUBLIC "${gen_dir}")
  target_link_libraries(${target} PUBLIC gyre_web)
endfunction()
