#%Module1.0
## simbi: simulation-based inference with binary plugins.
## Installed as <prefix>/share/modulefiles/simbi/<version>; it finds its prefix from its own
## location, so a moved installation needs no edit:
##   module use <prefix>/share/modulefiles && module load simbi
proc ModulesHelp { } {
    puts stderr "simbi: the simbi command, its plugins and SDK (find_package(simbi)), and the Python bridge module."
}
module-whatis "simbi: simulation-based inference with binary plugins"

set prefix [file normalize [file join [file dirname [file normalize [info script]]] .. .. ..]]
conflict simbi
prepend-path PATH              $prefix/bin
prepend-path CMAKE_PREFIX_PATH $prefix
prepend-path PYTHONPATH        $prefix/share/simbi/python
prepend-path MANPATH           $prefix/share/man
setenv       SIMBI_PREFIX      $prefix
