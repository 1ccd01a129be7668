/* SPDX-License-Identifier: MIT */
#include "lpc_int.h"

VOID NTAPI RtlInitUnicodeString(PUNICODE_STRING DestinationString,
				PCWSTR SourceString)
{
	size_t n = 0;

	if (SourceString) {
		while (SourceString[n])
			n++;
		/* Lengths are 16-bit byte counts: cap as NT does. */
		if (n > 0x7FFE)
			n = 0x7FFE;
	}
	DestinationString->Length = (USHORT)(n * sizeof(WCHAR));
	DestinationString->MaximumLength =
		SourceString ? (USHORT)((n + 1) * sizeof(WCHAR)) : 0;
	DestinationString->Buffer = (PWSTR)SourceString;
}
