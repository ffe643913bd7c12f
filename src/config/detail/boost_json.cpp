// The one translation unit that compiles header-only Boost.JSON for the whole program.
// Every other file includes <boost/json.hpp> only. If another library needs Boost.JSON,
// it must link gyre_config (or this file must move to gyre_core), never add a second copy.
#include <boost/json/src.hpp>
