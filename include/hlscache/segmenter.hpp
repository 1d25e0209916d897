// Public entry to the MPEG-TS segmenter for tools/, bench/ and tests: the Cutter
// (packets in, keyframe-aligned Segments out) and the live RenditionWindow that
// turns segments into playlists.
#pragma once

#include "segmenter/cutter.hpp"
#include "segmenter/master_playlist.hpp"
#include "segmenter/rendition_window.hpp"
