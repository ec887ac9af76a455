# incq_add_plugin(<name> <sources>...): a dlopen-able incq plugin, libincq_<name>.so.
# Hidden visibility plus the installed version script keep every symbol but incq_plugin_get_api
# local, so two plugins can never clash on the host's dlopen'ed symbols. --no-undefined makes a
# missing symbol fail the link instead of the host's dlopen. The plugin is installed into
# INCQ_PLUGIN_INSTALL_DIR under the caller's install prefix.
#
# The version script path is captured here, when find_package() includes this file, because a
# function sees the variables of its caller, not of the file that defined it.
set_property(GLOBAL PROPERTY INCQ_PLUGIN_VERSION_SCRIPT "${INCQ_PLUGIN_VERSION_SCRIPT}")
set_property(GLOBAL PROPERTY INCQ_PLUGIN_INSTALL_DIR "${INCQ_PLUGIN_INSTALL_DIR}")

function(incq_add_plugin name)
  if(NOT ARGN)
    message(FATAL_ERROR "incq_add_plugin(${name}): give at least one source file")
  endif()
  get_property(version_script GLOBAL PROPERTY INCQ_PLUGIN_VERSION_SCRIPT)
  get_property(plugin_dir GLOBAL PROPERTY INCQ_PLUGIN_INSTALL_DIR)
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES
    PREFIX "lib"
    OUTPUT_NAME "incq_${name}"
    SUFFIX ".so"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS "${version_script}")
  target_link_libraries(${name} PRIVATE incq::plugin_api)
  target_link_options(${name} PRIVATE
    "LINKER:--version-script=${version_script}" "LINKER:--no-undefined")
  install(TARGETS ${name} LIBRARY DESTINATION "${plugin_dir}")
endfunction()
