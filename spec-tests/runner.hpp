// The spec runner: runs .wast scripts through Kiln and counts the outcome of every command.
#pragma once
